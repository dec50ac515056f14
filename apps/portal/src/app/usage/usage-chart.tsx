// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tokens per day as stacked bars, one colour per model, drawn as inline SVG; the last day always has a label.

import { formatCompact, formatDayShort, formatInteger } from "../../lib/format";

export interface ChartRow {
  day: string;
  model: string;
  tokens: number;
}

const width = 800;
const height = 260;
const margin = { top: 12, right: 8, bottom: 28, left: 52 };
const seriesCount = 8;

/** A round number at or above the value, for the y axis's top: 1, 2, 5 times a power of ten. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

export function UsageChart({ days, models, rows }: { days: string[]; models: string[]; rows: ChartRow[] }) {
  const byDay = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const day = byDay.get(row.day) ?? new Map<string, number>();
    day.set(row.model, (day.get(row.model) ?? 0) + row.tokens);
    byDay.set(row.day, day);
  }
  const totals = days.map((day) =>
    [...(byDay.get(day)?.values() ?? [])].reduce((sum, value) => sum + value, 0),
  );
  const top = niceCeiling(Math.max(0, ...totals));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const slot = plotWidth / Math.max(1, days.length);
  const barWidth = Math.max(1, slot * 0.72);
  const y = (value: number) => margin.top + plotHeight - (value / top) * plotHeight;
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));
  const grandTotal = totals.reduce((sum, value) => sum + value, 0);
  const colourOf = (model: string) => `var(--series-${(models.indexOf(model) % seriesCount) + 1})`;

  return (
    <figure className="chart">
      <div className="chart-scroll">
        <svg
          viewBox={`0 0 ${width} ${height}`}
          role="img"
          aria-labelledby="usage-chart-title usage-chart-desc"
        >
          <title id="usage-chart-title">Tokens per day, by model</title>
          <desc id="usage-chart-desc">
            {`${formatInteger(grandTotal)} tokens over ${days.length} days across ${models.length} models. The table below has every number.`}
          </desc>
          {[0, 0.5, 1].map((fraction) => (
            <g key={fraction}>
              <line
                x1={margin.left}
                x2={width - margin.right}
                y1={y(top * fraction)}
                y2={y(top * fraction)}
                className="chart-grid"
              />
              <text
                x={margin.left - 6}
                y={y(top * fraction)}
                className="chart-label"
                textAnchor="end"
                dy="0.32em"
              >
                {formatCompact(top * fraction)}
              </text>
            </g>
          ))}
          {days.map((day, index) => {
            const x = margin.left + index * slot + (slot - barWidth) / 2;
            let base = 0;
            const segments = models
              .map((model) => ({ model, tokens: byDay.get(day)?.get(model) ?? 0 }))
              .filter((segment) => segment.tokens > 0);
            return (
              <g key={day}>
                {segments.map((segment) => {
                  const y0 = y(base);
                  base += segment.tokens;
                  const y1 = y(base);
                  return (
                    <rect
                      key={segment.model}
                      x={x}
                      y={y1}
                      width={barWidth}
                      height={Math.max(0.5, y0 - y1)}
                      fill={colourOf(segment.model)}
                    >
                      <title>{`${formatDayShort(day)} · ${segment.model}: ${formatInteger(segment.tokens)} tokens`}</title>
                    </rect>
                  );
                })}
                {(days.length - 1 - index) % labelEvery === 0 ? (
                  <text
                    x={margin.left + index * slot + slot / 2}
                    y={height - margin.bottom + 16}
                    className="chart-label"
                    textAnchor="middle"
                  >
                    {formatDayShort(day)}
                  </text>
                ) : null}
              </g>
            );
          })}
          <text
            x={12}
            y={margin.top + plotHeight / 2}
            className="chart-label"
            textAnchor="middle"
            transform={`rotate(-90 12 ${margin.top + plotHeight / 2})`}
          >
            tokens
          </text>
        </svg>
      </div>
      {models.length > 0 ? (
        <figcaption>
          <ul className="legend">
            {models.map((model) => (
              <li key={model}>
                <span className="swatch" style={{ background: colourOf(model) }} aria-hidden="true" />
                {model}
              </li>
            ))}
          </ul>
        </figcaption>
      ) : null}
    </figure>
  );
}

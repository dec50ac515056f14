// SPDX-License-Identifier: PolyForm-Shield-1.0
// A small metrics registry (counters, gauges, histograms) rendered in Prometheus text format 0.0.4.

/** The label values of one series, by label name. */
export type LabelValues<L extends string> = Readonly<Record<L, string>>;

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing; `+Inf` is added. */
  buckets: readonly number[];
}

export interface GaugeSample<L extends string> {
  labels: LabelValues<L>;
  value: number;
}

/** What a collect-time gauge reports: one value (no labels), or one sample per series. */
export type GaugeReading<L extends string> = number | readonly GaugeSample<L>[];

export interface CollectedGaugeOptions<L extends string> extends MetricOptions<L> {
  /** Read at each scrape, so nothing polls between scrapes; may be async (a database query). */
  collect: () => GaugeReading<L> | Promise<GaugeReading<L>>;
}

export interface Counter<L extends string> {
  /** Adds `value` (1 by default); a negative or non-finite value is ignored, as counters only go up. */
  inc(labels: LabelValues<L>, value?: number): void;
}

export interface Gauge<L extends string> {
  set(labels: LabelValues<L>, value: number): void;
  inc(labels: LabelValues<L>, value?: number): void;
  dec(labels: LabelValues<L>, value?: number): void;
}

export interface Histogram<L extends string> {
  /** Records one observation; a non-finite value is ignored. */
  observe(labels: LabelValues<L>, value: number): void;
}

export interface MetricsRegistryOptions {
  /** How long one collect-time source may take before the scrape goes on without it. */
  collectTimeoutMs?: number;
  /** Told when a source fails or times out; its metric is left out of that scrape. */
  onCollectError?: (metric: string, error: unknown) => void;
}

export interface MetricsRegistry {
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L>;
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L>;
  /** A gauge whose samples come from `collect` at each scrape. */
  collectedGauge<L extends string = never>(options: CollectedGaugeOptions<L>): void;
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L>;
  /** Every metric in Prometheus text format 0.0.4; waits for the async sources, each under its timeout. */
  render(): Promise<string>;
}

/** The content type of what `render` returns. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/** Counted by the registry itself, labelled with the metric whose source failed. */
export const collectErrorsMetricName = "helexa_metrics_collect_errors_total";

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type MetricType = "counter" | "gauge" | "histogram";

interface Family {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
  /** Lines for this scrape; null leaves the family out (its source failed). */
  lines(collected: Map<string, GaugeReading<string>>): string[] | null;
}

interface Series<V> {
  labels: readonly string[];
  value: V;
}

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): MetricsRegistry {
  const collectTimeoutMs = options.collectTimeoutMs ?? 2_000;
  const families = new Map<string, Family>();
  const sources = new Map<string, () => GaugeReading<string> | Promise<GaugeReading<string>>>();
  // A source still running from the previous scrape is awaited again rather than called again, so a
  // stuck database sees one query, not one more per scrape.
  const inFlight = new Map<string, Promise<GaugeReading<string>>>();

  const register = (family: Family) => {
    if (!metricNamePattern.test(family.name)) throw new Error(`invalid metric name ${family.name}`);
    if (families.has(family.name)) throw new Error(`metric ${family.name} is registered twice`);
    const seen = new Set<string>();
    for (const label of family.labelNames) {
      if (!labelNamePattern.test(label) || label.startsWith("__"))
        throw new Error(`invalid label name ${label} on ${family.name}`);
      if (family.type === "histogram" && label === "le")
        throw new Error(`histogram ${family.name} cannot have a label named le`);
      if (seen.has(label)) throw new Error(`label ${label} is given twice on ${family.name}`);
      seen.add(label);
    }
    families.set(family.name, family);
  };

  const counterOf = <L extends string>(metric: MetricOptions<L>, type: "counter" | "gauge") => {
    const labelNames = metric.labelNames ?? [];
    const series = new Map<string, Series<number>>();
    const entry = (labels: LabelValues<L>) => {
      const values = labelValuesOf(labelNames, labels);
      const key = JSON.stringify(values);
      let found = series.get(key);
      if (!found) {
        found = { labels: values, value: 0 };
        series.set(key, found);
      }
      return found;
    };
    register({
      name: metric.name,
      help: metric.help,
      type,
      labelNames,
      lines: () =>
        [...series.values()].map(
          (one) => `${metric.name}${formatLabels(labelNames, one.labels)} ${formatValue(one.value)}`,
        ),
    });
    return entry;
  };

  const registry: MetricsRegistry = {
    counter<L extends string = never>(metric: MetricOptions<L>): Counter<L> {
      const entry = counterOf(metric, "counter");
      return {
        inc(labels, value = 1) {
          if (!Number.isFinite(value) || value < 0) return;
          entry(labels).value += value;
        },
      };
    },

    gauge<L extends string = never>(metric: MetricOptions<L>): Gauge<L> {
      const entry = counterOf(metric, "gauge");
      return {
        set(labels, value) {
          entry(labels).value = value;
        },
        inc(labels, value = 1) {
          entry(labels).value += value;
        },
        dec(labels, value = 1) {
          entry(labels).value -= value;
        },
      };
    },

    collectedGauge<L extends string = never>(metric: CollectedGaugeOptions<L>): void {
      const labelNames: readonly string[] = metric.labelNames ?? [];
      register({
        name: metric.name,
        help: metric.help,
        type: "gauge",
        labelNames,
        lines: (collected) => {
          const reading = collected.get(metric.name);
          if (reading === undefined) return null;
          if (typeof reading === "number") {
            return [
              `${metric.name}${formatLabels(labelNames, labelValuesOf(labelNames, {}))} ${formatValue(reading)}`,
            ];
          }
          const seen = new Set<string>();
          return reading.map((sample) => {
            const values = labelValuesOf(labelNames, sample.labels);
            const key = JSON.stringify(values);
            // Two samples of one series would make the whole scrape invalid; the source is at fault.
            if (seen.has(key)) throw new Error(`${metric.name} got the series ${key} twice`);
            seen.add(key);
            return `${metric.name}${formatLabels(labelNames, values)} ${formatValue(sample.value)}`;
          });
        },
      });
      sources.set(metric.name, metric.collect as () => GaugeReading<string> | Promise<GaugeReading<string>>);
    },

    histogram<L extends string = never>(metric: HistogramOptions<L>): Histogram<L> {
      const labelNames = metric.labelNames ?? [];
      const bounds = [...metric.buckets];
      bounds.forEach((bound, index) => {
        if (!Number.isFinite(bound)) throw new Error(`histogram ${metric.name} has a non-finite bucket`);
        if (index > 0 && bound <= bounds[index - 1]!)
          throw new Error(`histogram ${metric.name}'s buckets must increase strictly`);
      });
      // Each series keeps a count per bucket (the last is +Inf), made cumulative when rendered.
      const series = new Map<string, Series<{ counts: number[]; sum: number; count: number }>>();
      register({
        name: metric.name,
        help: metric.help,
        type: "histogram",
        labelNames,
        lines: () => {
          const lines: string[] = [];
          const bucketLabels = [...labelNames, "le"];
          for (const one of series.values()) {
            let cumulative = 0;
            one.value.counts.forEach((count, index) => {
              cumulative += count;
              const le = index < bounds.length ? formatValue(bounds[index]!) : "+Inf";
              lines.push(
                `${metric.name}_bucket${formatLabels(bucketLabels, [...one.labels, le])} ${formatValue(cumulative)}`,
              );
            });
            const labels = formatLabels(labelNames, one.labels);
            lines.push(`${metric.name}_sum${labels} ${formatValue(one.value.sum)}`);
            lines.push(`${metric.name}_count${labels} ${formatValue(one.value.count)}`);
          }
          return lines;
        },
      });
      return {
        observe(labels, value) {
          if (!Number.isFinite(value)) return;
          const values = labelValuesOf(labelNames, labels);
          const key = JSON.stringify(values);
          let found = series.get(key);
          if (!found) {
            found = {
              labels: values,
              value: { counts: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 },
            };
            series.set(key, found);
          }
          let index = 0;
          while (index < bounds.length && value > bounds[index]!) index++;
          found.value.counts[index]!++;
          found.value.sum += value;
          found.value.count++;
        },
      };
    },

    async render(): Promise<string> {
      const collected = new Map<string, GaugeReading<string>>();
      await Promise.all(
        [...sources].map(async ([name, collect]) => {
          try {
            collected.set(name, await withTimeout(readSource(name, collect), collectTimeoutMs, name));
          } catch (error) {
            collectErrors.inc({ metric: name });
            options.onCollectError?.(name, error);
          }
        }),
      );
      // Every family's lines are made before any is written, and the error counter's again last, so a
      // failure found while making them is counted in this same scrape, whichever family comes first.
      const rendered: Array<[Family, string[]]> = [];
      for (const family of families.values()) {
        try {
          const lines = family.lines(collected);
          if (lines !== null) rendered.push([family, lines]);
        } catch (error) {
          // A reading with a bad shape is the source's failure too, not the scrape's.
          collectErrors.inc({ metric: family.name });
          options.onCollectError?.(family.name, error);
        }
      }
      const out: string[] = [];
      for (const [family, lines] of rendered) {
        out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
        out.push(...(family.name === collectErrorsMetricName ? (family.lines(collected) ?? []) : lines));
      }
      return `${out.join("\n")}\n`;
    },
  };

  const readSource = (
    name: string,
    collect: () => GaugeReading<string> | Promise<GaugeReading<string>>,
  ): Promise<GaugeReading<string>> => {
    const running = inFlight.get(name);
    if (running) return running;
    const reading = (async () => collect())().finally(() => inFlight.delete(name));
    inFlight.set(name, reading);
    return reading;
  };

  const collectErrors = registry.counter({
    name: collectErrorsMetricName,
    help: "Scrapes in which a metric's source failed or timed out, so the metric was left out.",
    labelNames: ["metric"],
  });

  return registry;
}

function labelValuesOf(labelNames: readonly string[], labels: Readonly<Record<string, string>>): string[] {
  // A missing value renders as "", which Prometheus reads as the label being absent.
  return labelNames.map((name) => String(labels[name] ?? ""));
}

function formatLabels(labelNames: readonly string[], values: readonly string[]): string {
  if (labelNames.length === 0) return "";
  return `{${labelNames.map((name, index) => `${name}="${escapeLabelValue(values[index] ?? "")}"`).join(",")}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name}'s source took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

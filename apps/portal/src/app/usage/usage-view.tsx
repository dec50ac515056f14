// SPDX-License-Identifier: PolyForm-Shield-1.0
// Usage: tokens and spend per UTC day and model over a date range, as a chart, a table and a CSV download.

"use client";

import { dateRangeInputSchema } from "@helexa/protocol";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { z } from "zod";
import { Field } from "../../components/field";
import { RequireAccount } from "../../components/session";
import { Empty, ErrorNote, SkeletonRows } from "../../components/status";
import { errorMessage } from "../../lib/errors";
import { addDays, daysBetween, formatCredits, formatInteger, utcDay } from "../../lib/format";
import { trpcClient, useTRPC } from "../providers";
import { UsageChart } from "./usage-chart";

export function UsageView() {
  return (
    <RequireAccount>
      {() => (
        <div className="page">
          <div className="page-head">
            <h1>Usage</h1>
          </div>
          <Usage />
        </div>
      )}
    </RequireAccount>
  );
}

function lastDays(count: number): { from: string; to: string } {
  const today = utcDay(new Date());
  return { from: addDays(today, -(count - 1)), to: today };
}

function Usage() {
  const trpc = useTRPC();
  const [range, setRange] = useState(() => lastDays(30));
  const parsed = dateRangeInputSchema.safeParse(range);
  const rangeErrors = parsed.success ? {} : z.flattenError(parsed.error).fieldErrors;
  const usage = useQuery({ ...trpc.usage.byDay.queryOptions(range), enabled: parsed.success });
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);

  async function exportCsv() {
    setExporting(true);
    setExportError(null);
    try {
      const { filename, csv } = await trpcClient.usage.csv.query(range);
      const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setExportError(errorMessage(error));
    } finally {
      setExporting(false);
    }
  }

  const rows = [...(usage.data ?? [])]
    .map((row) => ({ ...row, day: utcDay(row.day) }))
    .sort((a, b) => (a.day === b.day ? a.model.localeCompare(b.model) : a.day < b.day ? 1 : -1));
  const models = [...new Set(rows.map((row) => row.model))].sort();
  const totals = rows.reduce(
    (sum, row) => ({
      requests: sum.requests + row.requests,
      promptTokens: sum.promptTokens + row.promptTokens,
      completionTokens: sum.completionTokens + row.completionTokens,
      cost: sum.cost + row.cost,
    }),
    { requests: 0, promptTokens: 0, completionTokens: 0, cost: 0 },
  );

  return (
    <>
      <section className="card" aria-labelledby="range-title">
        <h2 id="range-title" className="visually-hidden">
          Date range
        </h2>
        <div className="range-bar">
          <Field id="usage-from" label="From (UTC)" error={rangeErrors.from?.[0]}>
            {(control) => (
              <input
                {...control}
                type="date"
                value={range.from}
                max={range.to}
                onChange={(event) => setRange((now) => ({ ...now, from: event.target.value }))}
              />
            )}
          </Field>
          <Field id="usage-to" label="To (UTC)" error={rangeErrors.to?.[0]}>
            {(control) => (
              <input
                {...control}
                type="date"
                value={range.to}
                min={range.from}
                onChange={(event) => setRange((now) => ({ ...now, to: event.target.value }))}
              />
            )}
          </Field>
          <fieldset className="quick-ranges">
            <legend className="visually-hidden">Quick ranges</legend>
            {[7, 30, 90].map((count) => (
              <button
                key={count}
                type="button"
                className="button button-small"
                onClick={() => setRange(lastDays(count))}
              >
                Last {count} days
              </button>
            ))}
          </fieldset>
          <button
            type="button"
            className="button"
            data-testid="export-csv"
            onClick={exportCsv}
            disabled={!parsed.success || exporting}
          >
            {exporting ? "Exporting…" : "Export CSV"}
          </button>
        </div>
        {exportError ? <ErrorNote>{exportError}</ErrorNote> : null}
      </section>

      {!parsed.success ? null : usage.isPending ? (
        <section className="card">
          <SkeletonRows rows={5} />
        </section>
      ) : usage.isError ? (
        <ErrorNote error={usage.error} />
      ) : (
        <>
          <section className="card" aria-labelledby="totals-title">
            <h2 id="totals-title">Totals</h2>
            <dl className="stat-grid">
              <div className="stat">
                <dt>Requests</dt>
                <dd>{formatInteger(totals.requests)}</dd>
              </div>
              <div className="stat">
                <dt>Tokens</dt>
                <dd>{formatInteger(totals.promptTokens + totals.completionTokens)}</dd>
              </div>
              <div className="stat stat-main">
                <dt>Spent</dt>
                <dd>{formatCredits(totals.cost)}</dd>
              </div>
            </dl>
          </section>
          <section className="card" aria-labelledby="chart-title">
            <h2 id="chart-title">Tokens per day</h2>
            {rows.length === 0 ? (
              <Empty>No usage in this range — chat or call the API and it shows up here.</Empty>
            ) : (
              <UsageChart
                days={daysBetween(range.from, range.to)}
                models={models}
                rows={rows.map((row) => ({
                  day: row.day,
                  model: row.model,
                  tokens: row.promptTokens + row.completionTokens,
                }))}
              />
            )}
          </section>
          <section className="card" aria-labelledby="table-title">
            <h2 id="table-title">By day and model</h2>
            {rows.length === 0 ? (
              <Empty>Nothing to list for these days.</Empty>
            ) : (
              <div className="table-wrap">
                <table data-testid="usage-table">
                  <caption className="visually-hidden">
                    Requests, tokens and cost per UTC day and model, {range.from} to {range.to}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Day (UTC)</th>
                      <th scope="col">Model</th>
                      <th scope="col" className="num">
                        Requests
                      </th>
                      <th scope="col" className="num">
                        Prompt tokens
                      </th>
                      <th scope="col" className="num">
                        Completion tokens
                      </th>
                      <th scope="col" className="num">
                        Cost
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row) => (
                      <tr key={`${row.day}/${row.model}`} data-testid="usage-row">
                        <td className="nowrap">{row.day}</td>
                        <td>{row.model}</td>
                        <td className="num">{formatInteger(row.requests)}</td>
                        <td className="num">{formatInteger(row.promptTokens)}</td>
                        <td className="num">{formatInteger(row.completionTokens)}</td>
                        <td className="num">{formatCredits(row.cost)}</td>
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th scope="row" colSpan={2}>
                        Total
                      </th>
                      <td className="num">{formatInteger(totals.requests)}</td>
                      <td className="num">{formatInteger(totals.promptTokens)}</td>
                      <td className="num">{formatInteger(totals.completionTokens)}</td>
                      <td className="num">{formatCredits(totals.cost)}</td>
                    </tr>
                  </tfoot>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </>
  );
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Usage: tokens and spend per UTC day and model over a date range, as a chart, a table and a CSV download.

"use client";

import { dateRangeInputSchema } from "@helexa/protocol";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { z } from "zod";
import { Card } from "../../components/card";
import { InputField } from "../../components/field";
import { QueryState } from "../../components/query-state";
import { SignedInPage } from "../../components/signed-in-page";
import { Stat } from "../../components/stat";
import { Empty, ErrorNote, SkeletonRows } from "../../components/status";
import { Table } from "../../components/table";
import { errorMessage } from "../../lib/errors";
import { addDays, daysBetween, formatCredits, formatInteger, utcDay } from "../../lib/format";
import type { RouterOutputs } from "../../lib/types";
import { trpcClient, useTRPC } from "../providers";
import { UsageChart } from "./usage-chart";

type UsageRow = RouterOutputs["usage"]["byDay"][number];
interface DateRange {
  from: string;
  to: string;
}

export function UsageView() {
  return (
    <SignedInPage title="Usage">
      <Usage />
    </SignedInPage>
  );
}

function lastDays(count: number): DateRange {
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

  return (
    <>
      <section className="card" aria-labelledby="range-title">
        <h2 id="range-title" className="visually-hidden">
          Date range
        </h2>
        <div className="range-bar">
          <InputField
            id="usage-from"
            label="From (UTC)"
            error={rangeErrors.from?.[0]}
            type="date"
            max={range.to}
            value={range.from}
            onValueChange={(from) => setRange((now) => ({ ...now, from }))}
          />
          <InputField
            id="usage-to"
            label="To (UTC)"
            error={rangeErrors.to?.[0]}
            type="date"
            min={range.from}
            value={range.to}
            onValueChange={(to) => setRange((now) => ({ ...now, to }))}
          />
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

      {parsed.success ? (
        <QueryState
          query={usage}
          loading={
            <section className="card">
              <SkeletonRows rows={5} />
            </section>
          }
        >
          {(data) => <UsageReport data={data} range={range} />}
        </QueryState>
      ) : null}
    </>
  );
}

/** The totals, the chart and the table for one range's rows, newest day first. */
function UsageReport({ data, range }: { data: UsageRow[]; range: DateRange }) {
  const rows = data
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
      <Card titleId="totals-title" title="Totals">
        <dl className="stat-grid">
          <Stat label="Requests">{formatInteger(totals.requests)}</Stat>
          <Stat label="Tokens">{formatInteger(totals.promptTokens + totals.completionTokens)}</Stat>
          <Stat label="Spent" main>
            {formatCredits(totals.cost)}
          </Stat>
        </dl>
      </Card>
      <Card titleId="chart-title" title="Tokens per day">
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
      </Card>
      <Card titleId="table-title" title="By day and model">
        {rows.length === 0 ? (
          <Empty>Nothing to list for these days.</Empty>
        ) : (
          <Table
            testId="usage-table"
            caption={`Requests, tokens and cost per UTC day and model, ${range.from} to ${range.to}`}
            columns={[
              "Day (UTC)",
              "Model",
              { label: "Requests", numeric: true },
              { label: "Prompt tokens", numeric: true },
              { label: "Completion tokens", numeric: true },
              { label: "Cost", numeric: true },
            ]}
            foot={
              <tr>
                <th scope="row" colSpan={2}>
                  Total
                </th>
                <td className="num">{formatInteger(totals.requests)}</td>
                <td className="num">{formatInteger(totals.promptTokens)}</td>
                <td className="num">{formatInteger(totals.completionTokens)}</td>
                <td className="num">{formatCredits(totals.cost)}</td>
              </tr>
            }
          >
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
          </Table>
        )}
      </Card>
    </>
  );
}

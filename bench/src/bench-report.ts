// SPDX-License-Identifier: PolyForm-Shield-1.0
// The benchmark's printed report: a table per path, the ratios against their aims, and the correctness checks.

import type { BenchSummary, CpuPerToken, PathSummary } from "./bench-summary.js";

/** What the fabric should cost at most compared with calling the runtime directly. */
export const benchAims = { minimumDecodeRatio: 0.95, maximumAddedTimeToFirstTokenMs: 5 } as const;

export interface BenchReportOptions {
  summary: BenchSummary;
  /** Lines describing the setup, printed first. */
  setup: string[];
}

export function formatBenchReport({ summary, setup }: BenchReportOptions): string {
  const rows: Array<[string, (path: PathSummary) => string]> = [
    ["requests", (path) => String(path.requests)],
    ["TTFT median (ms)", (path) => fixed(path.timeToFirstTokenMedianMs, 2)],
    ["TTFT p90 (ms)", (path) => fixed(path.timeToFirstTokenP90Ms, 2)],
    ["decode tokens/s median", (path) => fixed(path.decodeTokensPerSecondMedian, 1)],
    ["end-to-end tokens/s median", (path) => fixed(path.endToEndTokensPerSecondMedian, 1)],
    ["completion tokens median", (path) => String(path.completionTokensMedian)],
    ["text chunks per request median", (path) => String(path.textChunksMedian)],
    ["gap between chunks median (ms)", (path) => fixed(path.chunkGapMedianMs, 3)],
    [
      "time to response headers median (ms)",
      (path) => (path.timeToHeadersMedianMs === null ? "-" : fixed(path.timeToHeadersMedianMs, 2)),
    ],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const table = [
    `${"".padEnd(labelWidth)}  ${"direct".padStart(10)}  ${"fabric".padStart(10)}`,
    ...rows.map(
      ([label, value]) =>
        `${label.padEnd(labelWidth)}  ${value(summary.direct).padStart(10)}  ${value(summary.fabric).padStart(10)}`,
    ),
  ];
  const cpuRows: Array<[string, keyof CpuPerToken]> = [
    ["bench process, main thread", "benchMain"],
    ["bench process, other threads", "benchOthers"],
    ["fabric process, main thread", "fabricMain"],
    ["fabric process, other threads", "fabricOthers"],
    ["all threads, on a CPU", "running"],
    ["all threads, waiting for a CPU", "waiting"],
  ];
  const directCpu = summary.direct.cpuPerToken;
  const fabricCpu = summary.fabric.cpuPerToken;
  const cpuTable =
    directCpu && fabricCpu
      ? [
          "",
          "CPU per completion token (microseconds; Linux schedstat of every thread of both processes)",
          ...cpuRows.map(
            ([label, key]) =>
              `${label.padEnd(labelWidth)}  ${fixed(directCpu[key], 0).padStart(10)}  ${fixed(fabricCpu[key], 0).padStart(10)}`,
          ),
        ]
      : [];
  const decodeMet = summary.decodeRatio >= benchAims.minimumDecodeRatio;
  const timeMet = summary.addedTimeToFirstTokenMs < benchAims.maximumAddedTimeToFirstTokenMs;
  const textMismatches = summary.mismatches.filter(
    (mismatch) => mismatch.what === "text" || mismatch.what === "missing",
  );
  const usageMismatches = summary.mismatches.filter(
    (mismatch) => mismatch.what === "usage" || mismatch.what === "finish reason",
  );
  const lines = [
    ...setup,
    "",
    ...table,
    ...cpuTable,
    "",
    `fabric/direct decode tokens/s      ${fixed(summary.decodeRatio, 3)}  (aim >= ${benchAims.minimumDecodeRatio}: ${decodeMet ? "met" : "MISSED"}; paired median ${fixed(summary.pairedDecodeRatio, 3)})`,
    `fabric/direct end-to-end tokens/s  ${fixed(summary.endToEndRatio, 3)}`,
    `added median TTFT                  ${signed(summary.addedTimeToFirstTokenMs)} ms  (aim < ${benchAims.maximumAddedTimeToFirstTokenMs} ms: ${timeMet ? "met" : "MISSED"}; paired median ${signed(summary.pairedAddedTimeToFirstTokenMs)} ms)`,
    "",
    `identical text on both paths       ${summary.comparedPrompts - textMismatches.length}/${summary.comparedPrompts} prompts${textMismatches.length === 0 ? "" : "  MISMATCH"}`,
    `identical usage and finish reason  ${summary.comparedPrompts - new Set(usageMismatches.map((mismatch) => mismatch.promptIndex)).size}/${summary.comparedPrompts} prompts${usageMismatches.length === 0 ? "" : "  MISMATCH"}`,
    ...summary.mismatches
      .slice(0, 5)
      .map(
        (mismatch) =>
          `  prompt ${mismatch.promptIndex} ${mismatch.what}: direct ${JSON.stringify(mismatch.direct.slice(0, 80))} fabric ${JSON.stringify(mismatch.fabric.slice(0, 80))}`,
      ),
  ];
  return `${lines.join("\n")}\n`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : ""}${fixed(value, 2)}`;
}

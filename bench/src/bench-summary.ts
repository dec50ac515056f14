// SPDX-License-Identifier: PolyForm-Shield-1.0
// Turns the measured requests of both paths into the figures the benchmark reports and the checks it makes.

import {
  type BenchPath,
  decodeTokensPerSecond,
  endToEndTokensPerSecond,
  type Measurement,
} from "./measurement.js";
import { median, quantile } from "./statistics.js";

export interface PathSummary {
  requests: number;
  timeToFirstTokenMedianMs: number;
  timeToFirstTokenP90Ms: number;
  decodeTokensPerSecondMedian: number;
  endToEndTokensPerSecondMedian: number;
  completionTokensMedian: number;
  textChunksMedian: number;
  /** Median gap between text chunks: the per-token cost while decoding. */
  chunkGapMedianMs: number;
  /** Fabric only. */
  timeToHeadersMedianMs: number | null;
  /** Microseconds of CPU per completion token over all of the path's requests; null where not measured. */
  cpuPerToken: CpuPerToken | null;
}

export interface CpuPerToken {
  benchMain: number;
  benchOthers: number;
  fabricMain: number;
  fabricOthers: number;
  running: number;
  waiting: number;
}

export interface Mismatch {
  promptIndex: number;
  what: "text" | "usage" | "finish reason" | "missing";
  direct: string;
  fabric: string;
}

export interface BenchSummary {
  direct: PathSummary;
  fabric: PathSummary;
  /** Median fabric over median direct. */
  decodeRatio: number;
  endToEndRatio: number;
  /** Median fabric minus median direct. */
  addedTimeToFirstTokenMs: number;
  /** The median of each prompt's fabric minus direct, which pairs requests that ran side by side. */
  pairedAddedTimeToFirstTokenMs: number;
  pairedDecodeRatio: number;
  comparedPrompts: number;
  mismatches: Mismatch[];
}

export function summarizeBench(measurements: readonly Measurement[]): BenchSummary {
  const of = (path: BenchPath) => measurements.filter((measurement) => measurement.path === path);
  const direct = of("direct");
  const fabric = of("fabric");
  if (direct.length === 0 || fabric.length === 0) throw new Error("both paths need at least one measurement");
  const directSummary = summarizePath(direct);
  const fabricSummary = summarizePath(fabric);

  const directByPrompt = new Map(direct.map((measurement) => [measurement.promptIndex, measurement]));
  const mismatches: Mismatch[] = [];
  const addedTimes: number[] = [];
  const decodeRatios: number[] = [];
  for (const fabricRun of fabric) {
    const directRun = directByPrompt.get(fabricRun.promptIndex);
    if (!directRun) {
      mismatches.push({
        promptIndex: fabricRun.promptIndex,
        what: "missing",
        direct: "(not run)",
        fabric: "(run)",
      });
      continue;
    }
    addedTimes.push(fabricRun.timeToFirstTokenMs - directRun.timeToFirstTokenMs);
    decodeRatios.push(decodeTokensPerSecond(fabricRun) / decodeTokensPerSecond(directRun));
    if (fabricRun.text !== directRun.text) {
      mismatches.push({
        promptIndex: fabricRun.promptIndex,
        what: "text",
        direct: directRun.text,
        fabric: fabricRun.text,
      });
    }
    const directUsage = `${directRun.promptTokens} prompt + ${directRun.completionTokens} completion`;
    const fabricUsage = `${fabricRun.promptTokens} prompt + ${fabricRun.completionTokens} completion`;
    if (directUsage !== fabricUsage) {
      mismatches.push({
        promptIndex: fabricRun.promptIndex,
        what: "usage",
        direct: directUsage,
        fabric: fabricUsage,
      });
    }
    if (directRun.finishReason !== fabricRun.finishReason) {
      mismatches.push({
        promptIndex: fabricRun.promptIndex,
        what: "finish reason",
        direct: directRun.finishReason,
        fabric: fabricRun.finishReason,
      });
    }
  }
  return {
    direct: directSummary,
    fabric: fabricSummary,
    decodeRatio: fabricSummary.decodeTokensPerSecondMedian / directSummary.decodeTokensPerSecondMedian,
    endToEndRatio: fabricSummary.endToEndTokensPerSecondMedian / directSummary.endToEndTokensPerSecondMedian,
    addedTimeToFirstTokenMs: fabricSummary.timeToFirstTokenMedianMs - directSummary.timeToFirstTokenMedianMs,
    pairedAddedTimeToFirstTokenMs: addedTimes.length > 0 ? median(addedTimes) : Number.NaN,
    pairedDecodeRatio: decodeRatios.length > 0 ? median(decodeRatios) : Number.NaN,
    comparedPrompts: addedTimes.length,
    mismatches,
  };
}

function summarizePath(measurements: readonly Measurement[]): PathSummary {
  const timesToFirstToken = measurements.map((measurement) => measurement.timeToFirstTokenMs);
  const gaps = measurements.flatMap((measurement) =>
    measurement.chunkTimesMs
      .slice(1)
      .map((time, index) => time - (measurement.chunkTimesMs[index] as number)),
  );
  const headers = measurements.flatMap((measurement) =>
    measurement.timeToHeadersMs === undefined ? [] : [measurement.timeToHeadersMs],
  );
  return {
    requests: measurements.length,
    timeToFirstTokenMedianMs: median(timesToFirstToken),
    timeToFirstTokenP90Ms: quantile(timesToFirstToken, 0.9),
    decodeTokensPerSecondMedian: median(measurements.map(decodeTokensPerSecond)),
    endToEndTokensPerSecondMedian: median(measurements.map(endToEndTokensPerSecond)),
    completionTokensMedian: median(measurements.map((measurement) => measurement.completionTokens)),
    textChunksMedian: median(measurements.map((measurement) => measurement.chunkTimesMs.length)),
    chunkGapMedianMs: gaps.length > 0 ? median(gaps) : Number.NaN,
    timeToHeadersMedianMs: headers.length > 0 ? median(headers) : null,
    cpuPerToken: cpuPerToken(measurements),
  };
}

function cpuPerToken(measurements: readonly Measurement[]): CpuPerToken | null {
  if (measurements.some((measurement) => !measurement.cpu)) return null;
  const tokens = measurements.reduce((sum, measurement) => sum + measurement.completionTokens, 0);
  if (tokens === 0) return null;
  const total = (pick: (cpu: NonNullable<Measurement["cpu"]>) => number) =>
    measurements.reduce(
      (sum, measurement) => sum + pick(measurement.cpu as NonNullable<Measurement["cpu"]>),
      0,
    ) /
    tokens /
    1000;
  return {
    benchMain: total((cpu) => cpu.bench.main.runningNs),
    benchOthers: total((cpu) => cpu.bench.others.runningNs),
    fabricMain: total((cpu) => cpu.fabric.main.runningNs),
    fabricOthers: total((cpu) => cpu.fabric.others.runningNs),
    running: total(
      (cpu) =>
        cpu.bench.main.runningNs +
        cpu.bench.others.runningNs +
        cpu.fabric.main.runningNs +
        cpu.fabric.others.runningNs,
    ),
    waiting: total(
      (cpu) =>
        cpu.bench.main.waitingNs +
        cpu.bench.others.waitingNs +
        cpu.fabric.main.waitingNs +
        cpu.fabric.others.waitingNs,
    ),
  };
}

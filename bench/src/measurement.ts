// SPDX-License-Identifier: PolyForm-Shield-1.0
// One measured streaming request, and the rates derived from it.

import type { ProcessCpu } from "./process-cpu-meter.js";

export type BenchPath = "direct" | "fabric";

export interface Measurement {
  path: BenchPath;
  promptIndex: number;
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: string;
  /** From the call to the first chunk that carries text. */
  timeToFirstTokenMs: number;
  /** From the call to the end of the stream (the finish part; on the fabric, the stream's close after usage). */
  durationMs: number;
  /** Fabric only: from the call to the response headers. */
  timeToHeadersMs?: number;
  /** Arrival of every text chunk, in ms from the call: shows where a slow stream spent its time. */
  chunkTimesMs: number[];
  /** CPU time of both processes while this request ran, where the system can tell. */
  cpu?: { bench: ProcessCpu; fabric: ProcessCpu };
}

/**
 * Tokens per second while decoding: the first token marks the end of the prompt's evaluation, and the
 * other completionTokens - 1 arrive between it and the end of the stream.
 */
export function decodeTokensPerSecond(measurement: Measurement): number {
  const decodeMs = measurement.durationMs - measurement.timeToFirstTokenMs;
  if (measurement.completionTokens < 2 || decodeMs <= 0) return Number.NaN;
  return ((measurement.completionTokens - 1) * 1000) / decodeMs;
}

/** Tokens per second as a client sees a whole request: every completion token over call-to-end. */
export function endToEndTokensPerSecond(measurement: Measurement): number {
  if (measurement.durationMs <= 0) return Number.NaN;
  return (measurement.completionTokens * 1000) / measurement.durationMs;
}

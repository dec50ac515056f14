// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the figures and checks made from both paths' measurements.

import assert from "node:assert/strict";
import { test } from "node:test";
import { summarizeBench } from "./bench-summary.js";
import type { Measurement } from "./measurement.js";

const run = (fields: Partial<Measurement> & Pick<Measurement, "path" | "promptIndex">): Measurement => ({
  text: `answer ${fields.promptIndex}`,
  promptTokens: 20,
  completionTokens: 11,
  finishReason: "length",
  timeToFirstTokenMs: 10,
  durationMs: 110,
  chunkTimesMs: [10, 20, 30],
  ...fields,
});

test("ratios and added time compare the fabric's medians with the direct path's", () => {
  const summary = summarizeBench([
    run({ path: "direct", promptIndex: 0, timeToFirstTokenMs: 10, durationMs: 110 }),
    run({ path: "fabric", promptIndex: 0, timeToFirstTokenMs: 14, durationMs: 214 }),
    run({ path: "direct", promptIndex: 1, timeToFirstTokenMs: 20, durationMs: 120 }),
    run({ path: "fabric", promptIndex: 1, timeToFirstTokenMs: 22, durationMs: 222 }),
  ]);
  // Direct decodes 10 tokens in 100 ms (100 tokens/s), the fabric in 200 ms (50 tokens/s).
  assert.equal(summary.direct.decodeTokensPerSecondMedian, 100);
  assert.equal(summary.fabric.decodeTokensPerSecondMedian, 50);
  assert.equal(summary.decodeRatio, 0.5);
  assert.equal(summary.pairedDecodeRatio, 0.5);
  assert.equal(summary.addedTimeToFirstTokenMs, 18 - 15);
  assert.equal(summary.pairedAddedTimeToFirstTokenMs, 3);
  assert.equal(summary.direct.chunkGapMedianMs, 10);
  assert.equal(summary.comparedPrompts, 2);
  assert.deepEqual(summary.mismatches, []);
});

test("reports a prompt whose text, usage or finish reason differs between the paths", () => {
  const summary = summarizeBench([
    run({ path: "direct", promptIndex: 0 }),
    run({ path: "fabric", promptIndex: 0, text: "something else" }),
    run({ path: "direct", promptIndex: 1 }),
    run({ path: "fabric", promptIndex: 1, completionTokens: 12, finishReason: "stop" }),
    run({ path: "fabric", promptIndex: 2 }),
  ]);
  assert.deepEqual(
    summary.mismatches.map((mismatch) => [mismatch.promptIndex, mismatch.what]),
    [
      [0, "text"],
      [1, "usage"],
      [1, "finish reason"],
      [2, "missing"],
    ],
  );
});

test("CPU per token is left out unless every request has it", () => {
  const cpu = {
    bench: { main: { runningNs: 1_000_000, waitingNs: 0 }, others: { runningNs: 0, waitingNs: 0 } },
    fabric: { main: { runningNs: 0, waitingNs: 0 }, others: { runningNs: 100_000, waitingNs: 10_000 } },
  };
  const summary = summarizeBench([
    run({ path: "direct", promptIndex: 0, completionTokens: 10, cpu }),
    run({ path: "fabric", promptIndex: 0, completionTokens: 10 }),
  ]);
  assert.deepEqual(summary.direct.cpuPerToken, {
    benchMain: 100,
    benchOthers: 0,
    fabricMain: 0,
    fabricOthers: 10,
    running: 110,
    waiting: 1,
  });
  assert.equal(summary.fabric.cpuPerToken, null);
});

test("refuses measurements of only one path", () => {
  assert.throws(() => summarizeBench([run({ path: "direct", promptIndex: 0 })]));
});

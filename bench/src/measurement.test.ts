// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the rates derived from one measured request.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeTokensPerSecond, endToEndTokensPerSecond, type Measurement } from "./measurement.js";

const measurement = (fields: Partial<Measurement>): Measurement => ({
  path: "direct",
  promptIndex: 0,
  text: "",
  promptTokens: 10,
  completionTokens: 101,
  finishReason: "length",
  timeToFirstTokenMs: 50,
  durationMs: 1050,
  chunkTimesMs: [],
  ...fields,
});

test("decode rate counts the tokens after the first over the time after it", () => {
  // 100 tokens in the 1000 ms after the first one.
  assert.equal(decodeTokensPerSecond(measurement({})), 100);
});

test("end-to-end rate counts every token over the whole request", () => {
  assert.equal(endToEndTokensPerSecond(measurement({ completionTokens: 105, durationMs: 1050 })), 100);
});

test("a request of one token has no decode rate", () => {
  assert.ok(Number.isNaN(decodeTokensPerSecond(measurement({ completionTokens: 1 }))));
});

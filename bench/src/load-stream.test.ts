// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the gateway load test's stream reading: tokens, completeness and each token's lateness.

import assert from "node:assert/strict";
import { test } from "node:test";
import { addedLatencies, emptyResult, readEvent, streamComplete } from "./load-stream.js";

const chunk = (content: string | null, finish: string | null = null) =>
  JSON.stringify({
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  });

test("events are read into tokens, the finish, usage and [DONE]", () => {
  const result = emptyResult();
  result.status = 200;
  readEvent(chunk(""), 1, result);
  readEvent(chunk(" t0"), 2, result);
  readEvent(chunk(" t1 t2"), 3, result);
  readEvent(chunk(null, "length"), 4, result);
  readEvent(JSON.stringify({ choices: [], usage: { completion_tokens: 3 } }), 4, result);
  assert.equal(streamComplete(result, 3), false, "no [DONE] yet");
  readEvent("[DONE]", 5, result);
  assert.deepEqual(result.tokenIndices, [0, 1, 2]);
  assert.deepEqual(result.arrivals, [2, 3, 3]);
  assert.equal(streamComplete(result, 3), true);
  assert.equal(streamComplete(result, 4), false, "a token short");
  readEvent(JSON.stringify({ error: { message: "neuron lost" } }), 6, result);
  assert.equal(result.error, "neuron lost");
  assert.equal(streamComplete(result, 3), false);
});

test("a token's added latency is its lateness beyond the stream's quickest token", () => {
  const result = emptyResult();
  // Due every 50 ms; the first came 10 ms after its passage time, the second on time, the third 30 ms late.
  result.arrivals = [110, 150, 230];
  result.tokenIndices = [0, 1, 2];
  assert.deepEqual(addedLatencies(result, 50), [10, 0, 30]);
  assert.deepEqual(addedLatencies(emptyResult(), 50), []);
});

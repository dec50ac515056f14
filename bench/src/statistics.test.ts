// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the benchmark's order statistics.

import assert from "node:assert/strict";
import { test } from "node:test";
import { median, quantile } from "./statistics.js";

test("median of an odd count is the middle sample, whatever the order", () => {
  assert.equal(median([9, 1, 5]), 5);
});

test("median of an even count is the mean of the middle two", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

test("p90 interpolates between closest ranks", () => {
  const samples = Array.from({ length: 20 }, (_, index) => index + 1);
  // Position 0.9 * 19 = 17.1: between the 18th (18) and 19th (19) samples.
  assert.ok(Math.abs(quantile(samples, 0.9) - 18.1) < 1e-9);
  assert.equal(quantile(samples, 0), 1);
  assert.equal(quantile(samples, 1), 20);
});

test("quantile refuses no samples and a q outside 0..1", () => {
  assert.throws(() => quantile([], 0.5), RangeError);
  assert.throws(() => quantile([1], 1.5), RangeError);
});

test("quantile does not reorder its input", () => {
  const samples = [3, 1, 2];
  quantile(samples, 0.5);
  assert.deepEqual(samples, [3, 1, 2]);
});

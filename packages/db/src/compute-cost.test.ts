// SPDX-License-Identifier: PolyForm-Shield-1.0
// Job cost from token counts and per-million prices: integer, exact, rounded up once.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeCost } from "./compute-cost.js";

describe("computeCost", () => {
  it("prices prompt and completion tokens separately", () => {
    const cost = computeCost({
      promptTokens: 1_000,
      completionTokens: 500,
      pricePromptPerMillion: 2_000_000,
      priceCompletionPerMillion: 6_000_000,
    });
    assert.equal(cost, 2_000 + 3_000);
  });

  it("rounds the total up once, so any use costs something", () => {
    const prices = { pricePromptPerMillion: 1, priceCompletionPerMillion: 1 };
    assert.equal(computeCost({ promptTokens: 1, completionTokens: 0, ...prices }), 1);
    assert.equal(computeCost({ promptTokens: 0, completionTokens: 0, ...prices }), 0);
    assert.equal(computeCost({ promptTokens: 500_000, completionTokens: 500_000, ...prices }), 1);
    assert.equal(computeCost({ promptTokens: 500_000, completionTokens: 500_001, ...prices }), 2);
  });

  it("stays exact where floating point would not", () => {
    const cost = computeCost({
      promptTokens: 123_456_789,
      completionTokens: 987_654_321,
      pricePromptPerMillion: 3_333_333,
      priceCompletionPerMillion: 7_777_777,
    });
    const exact = (123_456_789n * 3_333_333n + 987_654_321n * 7_777_777n + 999_999n) / 1_000_000n;
    assert.equal(cost, Number(exact));
  });

  it("refuses negative, fractional and unsafe inputs", () => {
    const valid = {
      promptTokens: 1,
      completionTokens: 1,
      pricePromptPerMillion: 1,
      priceCompletionPerMillion: 1,
    };
    for (const bad of [-1, 0.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => computeCost({ ...valid, promptTokens: bad }), RangeError);
    }
  });
});

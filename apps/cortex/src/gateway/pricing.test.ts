// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for job pricing: rounding up, and the worst case held before a job.

import assert from "node:assert/strict";
import { test } from "node:test";
import { costOf, worstCaseCost } from "./pricing.js";

const price = { contextLength: 1000, pricePromptPerMillion: 100_000, priceCompletionPerMillion: 300_000 };

test("cost rounds up to whole micro-credits", () => {
  assert.equal(costOf({ promptTokens: 10, completionTokens: 5 }, price), 3); // 1 + 1.5
  assert.equal(costOf({ promptTokens: 0, completionTokens: 0 }, price), 0);
});

test("the worst case covers every split of the context the request allows", () => {
  for (const maxTokens of [undefined, 1, 10, 999, 5000]) {
    const held = worstCaseCost({ price, contextLength: 1000, maxTokens });
    const limit = Math.min(maxTokens ?? 1000, 1000);
    for (let completion = 0; completion <= limit; completion += 1) {
      const cost = costOf({ promptTokens: 1000 - completion, completionTokens: completion }, price);
      assert.ok(cost <= held, `completion ${completion} costs ${cost} > held ${held}`);
    }
  }
  const cheapCompletion = { ...price, priceCompletionPerMillion: 1 };
  assert.equal(worstCaseCost({ price: cheapCompletion, contextLength: 1000, maxTokens: 10 }), 100);
});

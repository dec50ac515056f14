// SPDX-License-Identifier: PolyForm-Shield-1.0
// What a job costs: prices in micro-credits per million tokens, rounded up to whole micro-credits.

import { computeCost } from "@helexa/db";
import type { Usage } from "@helexa/protocol";

export interface ModelPrice {
  contextLength: number;
  pricePromptPerMillion: number;
  priceCompletionPerMillion: number;
}

/** The ledger's own cost rule (exact integers, rounded up once), so a hold always covers its settlement. */
export function costOf(usage: Usage, price: ModelPrice): number {
  return computeCost({
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    pricePromptPerMillion: price.pricePromptPerMillion,
    priceCompletionPerMillion: price.priceCompletionPerMillion,
  });
}

/**
 * The most a request can cost, held before it runs: prompt and completion together cannot pass the
 * context length, and the completion cannot pass max_tokens where one is given.
 */
export function worstCaseCost(options: {
  price: ModelPrice;
  contextLength: number;
  maxTokens?: number | undefined;
}): number {
  const { price, contextLength } = options;
  const completion = Math.min(options.maxTokens ?? contextLength, contextLength);
  const allPrompt = costOf({ promptTokens: contextLength, completionTokens: 0 }, price);
  const mostCompletion = costOf(
    { promptTokens: contextLength - completion, completionTokens: completion },
    price,
  );
  return Math.max(allPrompt, mostCompletion);
}

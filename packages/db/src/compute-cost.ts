// SPDX-License-Identifier: PolyForm-Shield-1.0
// What a job costs in micro-credits, from its token counts and the model's prices per million tokens.

export interface ComputeCostInput {
  promptTokens: number;
  completionTokens: number;
  /** Micro-credits per million prompt tokens. */
  pricePromptPerMillion: number;
  /** Micro-credits per million completion tokens. */
  priceCompletionPerMillion: number;
}

/**
 * Exact integer arithmetic, rounded up once on the total so that a job that used anything costs at
 * least one micro-credit and rounding never loses more than one per job. Used both for the worst-case hold (with max_tokens) and the final cost, so the hold always covers it.
 */
export function computeCost(input: ComputeCostInput): number {
  for (const [name, value] of Object.entries(input)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a non-negative integer`);
  }
  const numerator =
    BigInt(input.promptTokens) * BigInt(input.pricePromptPerMillion) +
    BigInt(input.completionTokens) * BigInt(input.priceCompletionPerMillion);
  const cost = (numerator + 999_999n) / 1_000_000n;
  if (cost > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("cost exceeds the largest safe amount");
  return Number(cost);
}

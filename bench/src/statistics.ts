// SPDX-License-Identifier: PolyForm-Shield-1.0
// Order statistics for the benchmark's samples.

/**
 * The q-quantile by linear interpolation between closest ranks (numpy's default, R's type 7), so
 * the median of an even count is the mean of the middle two and p90 of 20 samples lies between the 18th and 19th.
 */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) throw new RangeError("quantile of no samples");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} is outside 0..1`);
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (position - below);
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

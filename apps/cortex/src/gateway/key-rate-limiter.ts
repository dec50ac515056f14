// SPDX-License-Identifier: PolyForm-Shield-1.0
// Per-key request limits: a sliding one-minute window per API key, answered with 429 and Retry-After.

import { HelexaError } from "@helexa/protocol";

/**
 * Counts live in this cortex's memory: with several cortex nodes behind a balancer a key may get up to
 * its limit on each. Exact limits across nodes need a shared counter (Redis or NATS KV), which a fresh
 * install does not have; the spend limit, which guards money, is exact in the database.
 */
export class KeyRateLimiter {
  readonly #windowMs: number;
  readonly #requests = new Map<string, number[]>();
  #sweeps = 0;

  constructor(options: { windowMs?: number } = {}) {
    this.#windowMs = options.windowMs ?? 60_000;
  }

  /** Admits one request for the key, or throws rate_limited with the seconds until a slot frees. */
  admit(keyId: string, limitPerWindow: number, now = Date.now()): void {
    const since = now - this.#windowMs;
    const times = (this.#requests.get(keyId) ?? []).filter((time) => time > since);
    if (times.length >= limitPerWindow) {
      const oldest = times[0] ?? now;
      this.#requests.set(keyId, times);
      throw new HelexaError(
        "rate_limited",
        `Rate limit reached for this API key: ${limitPerWindow} requests per minute. Try again shortly.`,
        { retryAfterSeconds: (oldest + this.#windowMs - now) / 1000 },
      );
    }
    times.push(now);
    this.#requests.set(keyId, times);
    if (++this.#sweeps % 1000 === 0) this.#sweep(since);
  }

  #sweep(since: number): void {
    for (const [keyId, times] of this.#requests) {
      if ((times.at(-1) ?? 0) <= since) this.#requests.delete(keyId);
    }
  }
}

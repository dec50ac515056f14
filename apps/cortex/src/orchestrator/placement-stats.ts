// SPDX-License-Identifier: PolyForm-Shield-1.0
// What a neuron's recent jobs say about it: decode tokens/s, round trip and failures, as placement reads them.

/** One ended job, as its session saw it. */
export interface JobRecord {
  /** Tokens decoded in `decodeSeconds` (the session counts those after the first one). */
  completionTokens: number;
  /** From the first token to the end of the job. */
  decodeSeconds: number;
  /** The neuron failed the job (a server-side error), not the client nor a cancellation. */
  failed: boolean;
}

export interface NeuronStatsOptions {
  /** Milliseconds on a monotonic clock; performance.now by default. */
  now?: () => number;
  /** Weight of the newest job in the tokens/s average (0..1]. */
  alpha?: number;
  /** A failure counts half after this long, a quarter after twice as long, and so on. */
  failureHalfLifeMs?: number;
}

/** Jobs below this decode time say more about timer noise than about speed. */
const minDecodeSeconds = 0.005;

export class NeuronStats {
  readonly #now: () => number;
  readonly #alpha: number;
  readonly #halfLifeMs: number;
  #tokensPerSecond: number | null = null;
  #roundTripMs: number | null = null;
  #failures = 0;
  #failuresAt = 0;
  jobsRecorded = 0;

  constructor(options: NeuronStatsOptions = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#alpha = options.alpha ?? 0.2;
    this.#halfLifeMs = options.failureHalfLifeMs ?? 60_000;
  }

  /**
   * Counts a job that ended: a success moves the tokens/s average a fifth of the way to its own rate
   * (the last few jobs dominate, so a neuron that slows down is noticed within a handful of jobs);
   * a failure adds one to the decaying failure count.
   */
  recordJob(job: JobRecord): void {
    this.jobsRecorded += 1;
    if (job.failed) {
      const now = this.#now();
      this.#failures = this.failuresAt(now) + 1;
      this.#failuresAt = now;
      return;
    }
    if (job.completionTokens < 1 || job.decodeSeconds < minDecodeSeconds) return;
    const rate = job.completionTokens / job.decodeSeconds;
    this.#tokensPerSecond =
      this.#tokensPerSecond === null
        ? rate
        : this.#tokensPerSecond + this.#alpha * (rate - this.#tokensPerSecond);
  }

  /** A measured round trip to the neuron; the average of the last and the new one smooths out a single hiccup. */
  recordRoundTrip(milliseconds: number): void {
    if (!Number.isFinite(milliseconds) || milliseconds < 0) return;
    this.#roundTripMs = this.#roundTripMs === null ? milliseconds : (this.#roundTripMs + milliseconds) / 2;
  }

  /** Decode tokens/s averaged over recent jobs; null until a job has been measured. */
  get tokensPerSecond(): number | null {
    return this.#tokensPerSecond;
  }

  /** The neuron's round trip in ms; null until one was measured. */
  get roundTripMs(): number | null {
    return this.#roundTripMs;
  }

  /** Failed jobs, each weighing less as it ages (half per half-life): about 0 a few minutes after the last. */
  get recentFailures(): number {
    return this.failuresAt(this.#now());
  }

  /** `recentFailures` at a given time of the same clock, so that one placement reads the clock once. */
  failuresAt(now: number): number {
    if (this.#failures === 0) return 0;
    return this.#failures * 2 ** (-(now - this.#failuresAt) / this.#halfLifeMs);
  }
}

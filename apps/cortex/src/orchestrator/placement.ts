// SPDX-License-Identifier: PolyForm-Shield-1.0
// Which neuron gets a job: a score from free slots, measured tokens/s, round trip and recent failures, over an index of free neurons per model.

import { isBrowserNeuron, type JobSize, jobFits } from "./job-size.js";
import type { NeuronSession } from "./neuron-session.js";

/** What placement reads of one candidate neuron. */
export interface CandidateView {
  slots: number;
  /** Jobs placed on it and not yet ended. */
  inFlight: number;
  /** Measured decode tokens/s; null when not measured yet. */
  tokensPerSecond: number | null;
  /** Measured round trip in ms; null when not measured yet. */
  roundTripMs: number | null;
  /** Failed jobs, decayed with age. */
  recentFailures: number;
}

/** What an unmeasured neuron is taken to be: the average of the measured ones it is compared with. */
export interface CandidatePrior {
  tokensPerSecond: number;
  roundTripMs: number;
}

/** The reply length a placement is judged for: a typical chat answer. */
export const referenceTokens = 256;

/** How much one fresh failure divides a neuron's score by. */
export const failurePenaltyBase = 16;

/**
 * The score of a neuron for one more job; the highest wins.
 *
 *   score = freeFraction × 16^(−recentFailures) / (roundTrip + referenceTokens / tokensPerSecond)
 *
 * Why each factor:
 * - `roundTrip + referenceTokens / tokensPerSecond` is the time a typical reply (256 tokens) would take
 *   there: the round trip is paid once per job (the request and the first token), tokens/s for every
 *   token. Dividing by it favours the neuron that finishes soonest, and weighs latency against speed
 *   in the proportion a client feels them: 50 ms more matters between two neurons of equal speed and
 *   hardly at all next to one twice as fast.
 * - `freeFraction` (free slots / slots) spreads the load: a neuron's decode throughput is shared by
 *   the jobs it runs, so a new job's share shrinks as the neuron fills. A neuron twice as fast with
 *   half its slots busy ties with an idle one; a full neuron (0) is never chosen.
 * - `16^(−recentFailures)`: a neuron that just failed a job counts 16 times less, so any healthy
 *   neuron with more than a sixteenth of its slots free goes first; a failing neuron still takes
 *   jobs when it alone has room, and recovers as its failures decay (half a minute after a minute,
 *   by default). A broken neuron fails fast and so frees its slots fast: without this factor, least
 *   loaded placement would send it ever more jobs (a black hole).
 * An unmeasured neuron takes the average of the measured ones it is compared with (`prior`): neither
 * favoured nor shunned, it is picked on free slots alone, and its first job measures it.
 */
export function placementScore(candidate: CandidateView, prior: CandidatePrior): number {
  const free = candidate.slots - candidate.inFlight;
  if (free <= 0 || candidate.slots <= 0) return 0;
  const tokensPerSecond = candidate.tokensPerSecond ?? prior.tokensPerSecond;
  const roundTripSeconds = (candidate.roundTripMs ?? prior.roundTripMs) / 1000;
  const expectedSeconds = roundTripSeconds + referenceTokens / Math.max(tokensPerSecond, 1e-6);
  return (
    ((free / candidate.slots) * failurePenaltyBase ** -candidate.recentFailures) /
    Math.max(expectedSeconds, 1e-9)
  );
}

/** The index of the highest score (the first of equals), computing the prior from the candidates themselves. */
export function bestCandidate(candidates: readonly CandidateView[]): number {
  let rateSum = 0;
  let rated = 0;
  let tripSum = 0;
  let tripped = 0;
  for (const candidate of candidates) {
    if (candidate.tokensPerSecond !== null) {
      rateSum += candidate.tokensPerSecond;
      rated++;
    }
    if (candidate.roundTripMs !== null) {
      tripSum += candidate.roundTripMs;
      tripped++;
    }
  }
  const prior = {
    tokensPerSecond: rated > 0 ? rateSum / rated : 1,
    roundTripMs: tripped > 0 ? tripSum / tripped : 0,
  };
  let best = -1;
  let bestScore = 0;
  for (let index = 0; index < candidates.length; index++) {
    const score = placementScore(candidates[index]!, prior);
    if (score > bestScore) {
      best = index;
      bestScore = score;
    }
  }
  return best;
}

export interface PlacementOptions {
  /** Uniform in [0, 1); Math.random by default, a seeded one in tests. */
  random?: () => number;
  /** Up to this many free neurons for a model are all scored; above it, the better of two sampled ones. */
  exactUpTo?: number;
  /**
   * A job that asks for more completion tokens than this, or sets no max_tokens, is long: it goes to a
   * browser tab only when no native neuron serves its model, since a tab may close at any moment and a
   * long job has the most to lose. Default 1024.
   */
  longJobTokens?: number;
}

/** The completion length above which a job is long (see `PlacementOptions.longJobTokens`). */
export const defaultLongJobTokens = 1024;

/** The neurons with a free slot for one model, in an array for O(1) sampling and a map for O(1) removal. */
class FreePool {
  readonly items: NeuronSession[] = [];
  readonly #positions = new Map<NeuronSession, number>();

  add(session: NeuronSession): void {
    if (this.#positions.has(session)) return;
    this.#positions.set(session, this.items.length);
    this.items.push(session);
  }

  delete(session: NeuronSession): void {
    const position = this.#positions.get(session);
    if (position === undefined) return;
    this.#positions.delete(session);
    const last = this.items.pop()!;
    if (last !== session) {
      this.items[position] = last;
      this.#positions.set(last, position);
    }
  }
}

/**
 * Slots in use per neuron (counting jobs placed but not yet ended) and, per model, the neurons with
 * one free, kept up to date on every placement, release and registry change. Choosing a neuron then
 * costs O(1) when many are free, and O(free neurons for the model), at most `exactUpTo`, otherwise:
 * never a walk over every connected neuron.
 *
 * With few free neurons every one is scored and the best wins. With many, two are sampled at random
 * and the better wins ("power of two choices", Mitzenmacher 2001): the load it leaves is exponentially
 * more even than one random choice, close to scoring all, at a constant cost however many neurons
 * there are; and because it is not always the single best neuron that wins, a burst of jobs does not
 * pile onto one neuron between two updates of its figures. Faster, emptier, healthier neurons still
 * win most of the pairs they are drawn into.
 */
export class Placement {
  readonly #random: () => number;
  readonly #exactUpTo: number;
  readonly #inFlight = new Map<NeuronSession, number>();
  readonly #free = new Map<string, FreePool>();
  /** The models each registered session is indexed under, as they were when it was indexed. */
  readonly #indexed = new Map<NeuronSession, readonly string[]>();
  /** Per model, the registered native neurons not draining: while there is one, long jobs skip browser tabs. */
  readonly #natives = new Map<string, number>();
  /** The sessions counted in `#natives`, so a removal uncounts exactly what was counted. */
  readonly #countedNative = new Set<NeuronSession>();
  readonly #longJobTokens: number;
  #running = 0;

  constructor(options: PlacementOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#exactUpTo = Math.max(2, options.exactUpTo ?? 16);
    this.#longJobTokens = options.longJobTokens ?? defaultLongJobTokens;
  }

  /** Jobs placed and not yet ended, on all neurons. */
  get running(): number {
    return this.#running;
  }

  inFlight(session: NeuronSession): number {
    return this.#inFlight.get(session) ?? 0;
  }

  /** A session joined the registry (or changed what it serves): index it under its models. */
  add(session: NeuronSession): void {
    if (this.#indexed.has(session)) this.remove(session);
    const models = [...new Set(session.models.map((model) => model.id))];
    this.#indexed.set(session, models);
    if (this.inFlight(session) < session.slots) for (const model of models) this.#pool(model).add(session);
    if (!isBrowserNeuron(session) && !session.draining) {
      this.#countedNative.add(session);
      for (const model of models) this.#natives.set(model, (this.#natives.get(model) ?? 0) + 1);
    }
  }

  /** A session left the registry: it is offered no more jobs; its leases still release. */
  remove(session: NeuronSession): void {
    const models = this.#indexed.get(session);
    if (!models) return;
    this.#indexed.delete(session);
    for (const model of models) this.#unpool(model, session);
    if (this.#countedNative.delete(session)) {
      for (const model of models) {
        const natives = (this.#natives.get(model) ?? 1) - 1;
        if (natives > 0) this.#natives.set(model, natives);
        else this.#natives.delete(model);
      }
    }
  }

  /** Whether some neuron serving the model has a free slot (which a given job may still not be able to use). */
  hasFree(modelId: string): boolean {
    return this.#free.has(modelId);
  }

  /** Whether a native neuron (not draining) serves the model, free or busy. */
  nativeServes(modelId: string): boolean {
    return this.#natives.has(modelId);
  }

  /** Long: more completion tokens than `longJobTokens`, or no max_tokens. */
  isLong(size: JobSize): boolean {
    return size.maxTokens === null || size.maxTokens > this.#longJobTokens;
  }

  /**
   * Whether the session may take a job of this size at all, free slot aside: within its limits, and not
   * a browser tab when the job is long and a native neuron serves the model (busy or not: the job then
   * waits for it rather than risk a tab that may close).
   */
  eligible(session: NeuronSession, modelId: string, size: JobSize): boolean {
    if (!jobFits(session, modelId, size)) return false;
    return !(isBrowserNeuron(session) && this.isLong(size) && this.nativeServes(modelId));
  }

  /**
   * The best neuron with a free slot for the model, or null when none has one. `accept` narrows the choice
   * for one job (a neuron that can take over a failed job, one whose limits fit the job).
   */
  choose(modelId: string, accept?: (session: NeuronSession) => boolean): NeuronSession | null {
    const pool = this.#free.get(modelId);
    if (!pool) return null;
    const usable = accept ? (session: NeuronSession) => available(session) && accept(session) : available;
    const items = pool.items;
    if (items.length > this.#exactUpTo) {
      const first = Math.floor(this.#random() * items.length);
      let second = Math.floor(this.#random() * (items.length - 1));
      if (second >= first) second++;
      const pair = [items[first]!, items[second]!].filter(usable);
      const chosen = this.#best(pair, modelId);
      if (chosen) return chosen;
    }
    return this.#best(items.filter(usable), modelId);
  }

  /** A job was placed on the session. */
  take(session: NeuronSession): void {
    const inFlight = this.inFlight(session) + 1;
    this.#inFlight.set(session, inFlight);
    this.#running++;
    if (inFlight >= session.slots) {
      for (const model of this.#indexed.get(session) ?? []) this.#unpool(model, session);
    }
  }

  /** A job placed on the session ended. */
  give(session: NeuronSession): void {
    const inFlight = this.inFlight(session) - 1;
    if (inFlight < 0) return;
    if (inFlight > 0) this.#inFlight.set(session, inFlight);
    else this.#inFlight.delete(session);
    this.#running--;
    if (inFlight < session.slots) {
      for (const model of this.#indexed.get(session) ?? []) this.#pool(model).add(session);
    }
  }

  #best(sessions: readonly NeuronSession[], modelId: string): NeuronSession | null {
    if (sessions.length === 0) return null;
    const index = bestCandidate(
      sessions.map((session) => ({
        slots: session.slots,
        inFlight: this.inFlight(session),
        // Until its own jobs measure it, what the neuron measured itself (a tab, as it loaded the model).
        tokensPerSecond:
          session.stats.tokensPerSecond ??
          session.models.find((model) => model.id === modelId)?.tokensPerSecond ??
          null,
        roundTripMs: session.stats.roundTripMs,
        recentFailures: session.stats.recentFailures,
      })),
    );
    return index < 0 ? null : sessions[index]!;
  }

  #pool(modelId: string): FreePool {
    let pool = this.#free.get(modelId);
    if (!pool) {
      pool = new FreePool();
      this.#free.set(modelId, pool);
    }
    return pool;
  }

  #unpool(modelId: string, session: NeuronSession): void {
    const pool = this.#free.get(modelId);
    if (!pool) return;
    pool.delete(session);
    if (pool.items.length === 0) this.#free.delete(modelId);
  }
}

/** Ready for a new job: connected with its data channel open, and not shutting down. */
function available(session: NeuronSession): boolean {
  return session.ready && !session.draining;
}

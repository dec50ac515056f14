// SPDX-License-Identifier: PolyForm-Shield-1.0
// Places jobs on neurons with a free slot, and queues the rest: bounded, fair between accounts, with a timeout.

import { HelexaError } from "@helexa/protocol";
import { type JobSize, jobFits, unknownJobSize } from "./job-size.js";
import type { NeuronRegistry } from "./neuron-registry.js";
import type { NeuronSession } from "./neuron-session.js";
import { Placement, type PlacementOptions } from "./placement.js";

/** A slot on a neuron, held from placement until the job ends; `release` gives it to the next job. */
export interface Lease {
  session: NeuronSession;
  /** How long the job waited for the slot. */
  waitedMs: number;
  release(): void;
}

export interface JobQueueOptions {
  registry: NeuronRegistry;
  /** Jobs that may wait at once, across accounts; one more is answered 429. */
  maxWaiting: number;
  /** How long a job waits for a slot before it is answered 429. */
  timeoutMs: number;
  /** How often waiting jobs look again, for changes no event announces (a data channel opening). */
  recheckMs?: number;
  /** How neurons are chosen among those with a free slot (a seeded random source in tests). */
  placement?: PlacementOptions;
}

/** What a job asks of the queue. */
export interface JobRequirements {
  accountId: string;
  modelId: string;
  signal?: AbortSignal;
  /** Only neurons this accepts may take the job (one that can resume it, say). */
  accept?: (session: NeuronSession) => boolean;
  /**
   * The job's estimated prompt and its max_tokens (`jobSizeOf`): a neuron whose limits it exceeds (a
   * browser tab) does not get it, nor does a tab get a long job while a native neuron serves the model.
   * Without it the job is taken to be as long as the model allows.
   */
  size?: JobSize;
  /**
   * A job already under way, moving to another neuron after a failure: it goes before every waiting job,
   * since its client is mid-stream.
   */
  priority?: boolean;
}

interface Waiter {
  accountId: string;
  modelId: string;
  accept: ((session: NeuronSession) => boolean) | undefined;
  enqueuedAt: number;
  grant(session: NeuronSession): void;
  fail(error: HelexaError): void;
}

/**
 * One heavy account cannot starve the others: each account waits in its own line, and a freed slot
 * goes to the accounts in turn (round robin), not to whoever queued most. Within an account, jobs
 * for one model keep their order.
 */
export class JobQueue {
  readonly #options: JobQueueOptions;
  /** Slots in use per neuron and the free neurons per model; chooses where each job runs. */
  readonly #placement: Placement;
  /** How many jobs wait per model, so a job need not look through the lines to know. */
  readonly #waitingFor = new Map<string, number>();
  /** Each account's own line of waiting jobs. */
  readonly #lines = new Map<string, Waiter[]>();
  /** Jobs moving to another neuron after a failure, served before the lines. */
  readonly #priority: Waiter[] = [];
  /** When each account was last given a slot (a grant counter); the least recently served goes first. */
  readonly #servedAt = new Map<string, number>();
  #grants = 0;
  #waiting = 0;
  #recheck: NodeJS.Timeout | null = null;
  readonly #unsubscribe: () => void;

  constructor(options: JobQueueOptions) {
    this.#options = options;
    this.#placement = new Placement(options.placement);
    for (const session of options.registry.list()) this.#placement.add(session);
    this.#unsubscribe = options.registry.onChange((event, session) => {
      if (event === "removed") this.#placement.remove(session);
      else this.#placement.add(session);
      this.drain();
    });
  }

  /** Jobs waiting for a slot now. */
  get depth(): number {
    return this.#waiting;
  }

  /** Jobs placed and not yet ended, on all neurons. */
  get running(): number {
    return this.#placement.running;
  }

  /**
   * A slot for a job of this account and model: at once when one is free and nobody waits for the
   * model, otherwise after waiting its turn. Rejects with rate_limited (HTTP 429 with Retry-After)
   * when the queue is full or the wait times out, and with the signal's reason when it aborts.
   */
  acquire(options: JobRequirements): Promise<Lease> {
    const { accountId, modelId, signal, priority = false } = options;
    const size = options.size ?? unknownJobSize;
    const accept = (session: NeuronSession) =>
      this.#placement.eligible(session, modelId, size) && (options.accept?.(session) ?? true);
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (priority || !this.#someoneWaitsFor(modelId)) {
      const session = this.#placement.choose(modelId, accept);
      if (session) return Promise.resolve(this.#lease(session, accountId, 0));
    }
    const tooLarge = this.#tooLargeForEveryNeuron(modelId, size);
    if (tooLarge) return Promise.reject(tooLarge);
    if (!priority && this.#waiting >= this.#options.maxWaiting) {
      return Promise.reject(
        new HelexaError(
          "rate_limited",
          `Every neuron serving ${modelId} is busy and ${this.#waiting} requests are waiting already. Try again shortly.`,
          { retryAfterSeconds: retryAfter(this.#options.timeoutMs) },
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const enqueuedAt = performance.now();
      let settled = false;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#remove(waiter);
      };
      const waiter: Waiter = {
        accountId,
        modelId,
        accept,
        enqueuedAt,
        grant: (session) => {
          if (settled) return;
          finish();
          resolve(this.#lease(session, accountId, performance.now() - enqueuedAt));
        },
        fail: (error) => {
          if (settled) return;
          finish();
          reject(error);
        },
      };
      const onAbort = () => waiter.fail(abortReason(signal));
      const timer = setTimeout(
        () =>
          waiter.fail(
            new HelexaError(
              "rate_limited",
              `No neuron serving ${modelId} had a free slot within ${Math.round(this.#options.timeoutMs / 1000)} s. Try again shortly.`,
              { retryAfterSeconds: retryAfter(this.#options.timeoutMs) },
            ),
          ),
        this.#options.timeoutMs,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      if (priority) this.#priority.push(waiter);
      else {
        const line = this.#lines.get(accountId);
        if (line) line.push(waiter);
        else this.#lines.set(accountId, [waiter]);
      }
      this.#waiting++;
      if (!priority) this.#waitingFor.set(modelId, (this.#waitingFor.get(modelId) ?? 0) + 1);
      this.#scheduleRecheck();
      // A free neuron that the jobs ahead cannot use (a tab too small for them) may suit this one.
      if (this.#placement.hasFree(modelId)) this.drain();
    });
  }

  /** Gives free slots to waiting jobs: each to the account served least recently that can use one. */
  drain(): void {
    for (const waiter of [...this.#priority]) {
      const session = this.#placement.choose(waiter.modelId, waiter.accept);
      if (session) waiter.grant(session);
    }
    while (this.#waiting > 0) {
      let chosen: { waiter: Waiter; session: NeuronSession; servedAt: number } | null = null;
      for (const [accountId, line] of this.#lines) {
        const servedAt = this.#servedAt.get(accountId) ?? -1;
        if (chosen && servedAt >= chosen.servedAt) continue;
        for (const waiter of line) {
          const session = this.#placement.choose(waiter.modelId, waiter.accept);
          if (!session) continue;
          chosen = { waiter, session, servedAt };
          break;
        }
      }
      if (!chosen) return;
      chosen.waiter.grant(chosen.session);
    }
  }

  close(): void {
    this.#unsubscribe();
    if (this.#recheck) clearInterval(this.#recheck);
    for (const waiter of [...this.#priority])
      waiter.fail(new HelexaError("no_capacity", "cortex is shutting down"));
    for (const line of [...this.#lines.values()]) {
      for (const waiter of [...line]) waiter.fail(new HelexaError("no_capacity", "cortex is shutting down"));
    }
  }

  #lease(session: NeuronSession, accountId: string, waitedMs: number): Lease {
    this.#placement.take(session);
    // Re-inserted so the Map's order is least recently served first, and the oldest can be forgotten.
    this.#servedAt.delete(accountId);
    this.#servedAt.set(accountId, ++this.#grants);
    if (this.#servedAt.size > maxRememberedAccounts) {
      const oldest = this.#servedAt.keys().next().value;
      if (oldest !== undefined) this.#servedAt.delete(oldest);
    }
    let released = false;
    return {
      session,
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        this.#placement.give(session);
        this.drain();
      },
    };
  }

  /**
   * A job that no neuron serving the model takes at its size, while some serve it, is refused at once
   * (waiting could not help until another neuron joins) with what the client can change: max_tokens.
   */
  #tooLargeForEveryNeuron(modelId: string, size: JobSize): HelexaError | null {
    let largest = 0;
    let limited = 0;
    for (const session of this.#options.registry.serving(modelId)) {
      if (!session.ready || session.draining) continue;
      if (jobFits(session, modelId, size)) return null;
      limited += 1;
      largest = Math.max(largest, session.capabilities?.limits?.maxJobTokens ?? 0);
    }
    if (limited === 0) return null;
    const asked =
      size.maxTokens === null
        ? `about ${size.promptTokens} prompt tokens and no max_tokens, so up to the model's context length`
        : `about ${size.promptTokens} prompt tokens plus max_tokens ${size.maxTokens}`;
    return new HelexaError(
      "invalid_request",
      `This request may need more tokens than any neuron serving ${modelId} takes per job right now (${asked}; at most ${largest}). Lower max_tokens or shorten the prompt, or try again when more neurons serve the model.`,
      { param: "max_tokens" },
    );
  }

  #someoneWaitsFor(modelId: string): boolean {
    return (this.#waitingFor.get(modelId) ?? 0) > 0;
  }

  #remove(waiter: Waiter): void {
    const urgent = this.#priority.indexOf(waiter);
    if (urgent >= 0) {
      this.#priority.splice(urgent, 1);
      this.#waiting--;
      return;
    }
    const line = this.#lines.get(waiter.accountId);
    if (!line) return;
    const index = line.indexOf(waiter);
    if (index < 0) return;
    line.splice(index, 1);
    this.#waiting--;
    const forModel = (this.#waitingFor.get(waiter.modelId) ?? 1) - 1;
    if (forModel > 0) this.#waitingFor.set(waiter.modelId, forModel);
    else this.#waitingFor.delete(waiter.modelId);
    if (line.length === 0) this.#lines.delete(waiter.accountId);
  }

  #scheduleRecheck(): void {
    if (this.#recheck || !this.#options.recheckMs) return;
    this.#recheck = setInterval(() => {
      if (this.#waiting === 0) {
        if (this.#recheck) clearInterval(this.#recheck);
        this.#recheck = null;
        return;
      }
      this.drain();
    }, this.#options.recheckMs);
    this.#recheck.unref();
  }
}

/** Accounts whose last service is remembered for fairness; one forgotten is treated as never served. */
const maxRememberedAccounts = 100_000;

function abortReason(signal: AbortSignal | undefined): HelexaError {
  const reason: unknown = signal?.reason;
  return HelexaError.is(reason)
    ? reason
    : new HelexaError("job_cancelled", "the request was cancelled while it waited");
}

/** A client told to come back after a tenth of the queue's timeout, at least a second. */
function retryAfter(timeoutMs: number): number {
  return Math.max(1, Math.ceil(timeoutMs / 10_000));
}

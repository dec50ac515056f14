// SPDX-License-Identifier: PolyForm-Shield-1.0
// The gateway's backend: authenticate the key, hold credits, place the job on a neuron, meter what it delivered.

import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Logger } from "@helexa/log";
import type { Generation, OpenAIBackend } from "@helexa/openai-http";
import { type GenerationRequest, HelexaError, type ModelObject, type Usage } from "@helexa/protocol";
import type { StreamPart } from "@helexa/runtime";
import type { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { JobQueue, JobRequirements, Lease } from "../orchestrator/job-queue.js";
import { jobSizeOf } from "../orchestrator/job-size.js";
import type { NeuronRegistry } from "../orchestrator/neuron-registry.js";
import type { NeuronSession } from "../orchestrator/neuron-session.js";
import type { Provisioner } from "../orchestrator/provisioner.js";
import { KeyRateLimiter } from "./key-rate-limiter.js";
import { costOf, type ModelPrice, worstCaseCost } from "./pricing.js";

export interface Caller {
  accountId: string;
  /** Null for the portal's chat, which calls with a signed-in session rather than a key. */
  apiKeyId: string | null;
  /** The key's requests per minute, when it has a limit. */
  rateLimitPerMinute?: number | null;
}

export interface Settlement {
  jobId: string;
  accountId: string;
  apiKeyId: string | null;
  model: string;
  /** Null for a job that never reached a neuron (refused while it waited). */
  neuronId: string | null;
  operatorAccountId: string | null;
  usage: Usage;
  cost: number;
  status: "completed" | "failed" | "cancelled";
  /** A job that moved between neurons: each neuron's operator and its part of `cost`, in order. */
  servedBy?: Array<{ operatorAccountId: string | null; cost: number }>;
}

/** What the gateway needs from the database, so that it can be served by one cortex or many. */
export interface GatewayStore {
  verifyApiKey(key: string): Promise<Caller | null>;
  modelPrice(modelId: string): Promise<ModelPrice | null>;
  /** Durable job record and credit hold; rejects with insufficient_quota. */
  placeHold(options: { jobId: string; caller: Caller; model: string; amount: number }): Promise<void>;
  /** Charges `cost` against the hold and releases the rest; idempotent per job. */
  settle(settlement: Settlement): Promise<void>;
}

export interface GatewayBackendOptions {
  registry: NeuronRegistry;
  /** Where jobs wait for a free neuron; without one, jobs are placed on the least loaded neuron at once. */
  queue?: JobQueue;
  /** Counts and timings for `GET /metrics`. */
  metrics?: GatewayMetrics;
  store: GatewayStore | null;
  log: Logger;
  /** Seconds a model's price is reused before it is read again. */
  priceCacheSeconds?: number;
  /** How many times one job may move to another neuron after a failure; 3 by default. */
  maxFailovers?: number;
  /** Loads catalog models that no neuron serves onto a neuron that takes models, on the first request. */
  provisioner?: Pick<Provisioner, "provision">;
}

export function createGatewayBackend(options: GatewayBackendOptions): OpenAIBackend<Caller> & {
  /** Settlements still being written; awaited on shutdown. */
  pendingSettlements(): Promise<void>;
  /** The catalog's price of a model, as this gateway charges it (cached a few seconds). */
  modelPrice(modelId: string): Promise<ModelPrice | null>;
} {
  const { registry, log, metrics } = options;
  const prices = new Map<string, { price: ModelPrice | null; until: number }>();
  const pending = new Set<Promise<void>>();
  const rateLimiter = new KeyRateLimiter();
  const store = (): GatewayStore => {
    if (!options.store) throw new HelexaError("no_capacity", "this gateway has no database attached");
    return options.store;
  };

  /** A slot through the queue when there is one; otherwise the least loaded neuron, whatever its load. */
  async function placeJob(job: JobRequirements): Promise<Lease> {
    if (options.queue) return options.queue.acquire(job);
    const session = registry.pick(job.modelId, job.accept);
    if (!session) throw new HelexaError("no_capacity", `no neuron is serving ${job.modelId} right now`);
    return { session, waitedMs: 0, release: () => {} };
  }

  async function priceOf(modelId: string): Promise<ModelPrice | null> {
    const cached = prices.get(modelId);
    if (cached && cached.until > Date.now()) return cached.price;
    const price = await store().modelPrice(modelId);
    prices.set(modelId, { price, until: Date.now() + (options.priceCacheSeconds ?? 5) * 1000 });
    return price;
  }

  function settle(settlement: Settlement): void {
    const write = store()
      .settle(settlement)
      .catch((error: unknown) =>
        log.error("ledger.settle_failed", { jobId: settlement.jobId, error: (error as Error).message }),
      )
      .finally(() => pending.delete(write));
    pending.add(write);
  }

  return {
    async authenticate(request: IncomingMessage): Promise<Caller> {
      const header = request.headers.authorization;
      if (!header) {
        throw new HelexaError(
          "invalid_api_key",
          "You didn't provide an API key. Send it as a bearer token: Authorization: Bearer sk-hx-...",
        );
      }
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const caller = match?.[1] ? await store().verifyApiKey(match[1]) : null;
      if (!caller) throw new HelexaError("invalid_api_key", "Incorrect API key provided.");
      if (caller.apiKeyId && caller.rateLimitPerMinute)
        rateLimiter.admit(caller.apiKeyId, caller.rateLimitPerMinute);
      return caller;
    },

    async listModels(): Promise<ModelObject[]> {
      return registry.models().map((model) => ({
        id: model.id,
        object: "model",
        created: 0,
        owned_by: "helexa",
      }));
    },

    async generate({ caller, request, signal, requestId }): Promise<Generation> {
      const arrivedAt = performance.now();
      const price = await priceOf(request.model);
      // A catalog model no neuron serves is loaded on one that takes models; the job then waits in the
      // queue for it (and fails with the load's error if the load fails).
      const served =
        registry.models().find((model) => model.id === request.model) ??
        (price ? await options.provisioner?.provision(request.model) : null) ??
        undefined;
      if (!served) {
        if (price) throw new HelexaError("no_capacity", `no neuron is serving ${request.model} right now`);
        throw new HelexaError("model_not_found", `The model \`${request.model}\` does not exist.`, {
          param: "model",
        });
      }
      if (!price) throw new HelexaError("no_capacity", `${request.model} has no price in the catalog yet`);
      // Counted from here: the model is one the catalog knows, so its label cannot be made up by a client.
      const model = request.model;
      metrics?.requestStarted({
        model,
        route: requestId?.startsWith("portal-")
          ? "portal"
          : request.input.kind === "chat"
            ? "chat"
            : "completions",
      });

      const jobId = randomUUID();
      const contextLength = Math.min(served.contextLength, price.contextLength);
      const holdAmount = worstCaseCost({ price, contextLength, maxTokens: request.sampling.maxTokens });
      // The hold is written while the job waits for a slot and the neuron reads the prompt; no token
      // reaches the client before it stands.
      const hold = store().placeHold({ jobId, caller, model: request.model, amount: holdAmount });
      hold.catch(() => {});
      const jobAbort = new AbortController();
      const onClientGone = () => jobAbort.abort(signal.reason);
      signal.addEventListener("abort", onClientGone, { once: true });
      // A refused hold ends the wait at once, and is the answer.
      hold.catch((error: unknown) => jobAbort.abort(error));
      const unplaced = {
        jobId,
        accountId: caller.accountId,
        apiKeyId: caller.apiKeyId,
        model: request.model,
      };
      const releaseHold = () => {
        const usage = { promptTokens: 0, completionTokens: 0 };
        hold.then(
          () =>
            settle({
              ...unplaced,
              neuronId: null,
              operatorAccountId: null,
              usage,
              cost: 0,
              status: "failed",
            }),
          () => {},
        );
      };

      let lease: Lease;
      try {
        lease = await placeJob({
          accountId: caller.accountId,
          modelId: request.model,
          signal: jobAbort.signal,
          size: jobSizeOf(request),
        });
      } catch (error) {
        // The job never ran: once its hold stands, release it by settling at nothing.
        signal.removeEventListener("abort", onClientGone);
        releaseHold();
        const reason =
          jobAbort.signal.aborted && HelexaError.is(jobAbort.signal.reason) ? jobAbort.signal.reason : error;
        metrics?.requestFinished({
          model,
          status: "rejected",
          ...(HelexaError.is(reason) ? { code: reason.code } : {}),
        });
        throw reason;
      }
      metrics?.queueWait({ model, seconds: lease.waitedMs / 1000 });
      const neuron = lease.session;
      let parts: AsyncIterable<StreamPart>;
      try {
        parts = neuron.startJob({ jobId, request, signal: jobAbort.signal, requestId });
      } catch (error) {
        signal.removeEventListener("abort", onClientGone);
        lease.release();
        releaseHold();
        metrics?.requestFinished({
          model,
          status: "failed",
          ...(HelexaError.is(error) ? { code: error.code } : {}),
        });
        throw error;
      }
      log.debug("job.placed", { requestId, jobId, neuronId: neuron.neuronId, model: request.model });
      return {
        headers: { "x-helexa-neuron": neuron.neuronId, "x-helexa-job": jobId },
        parts: metered({
          parts,
          request,
          ...(requestId ? { requestId } : {}),
          hold,
          jobAbort,
          signal,
          onClientGone,
          price,
          base: unplaced,
          settle,
          lease,
          place: placeJob,
          serving: (modelId) => registry.serving(modelId),
          maxFailovers: options.maxFailovers ?? 3,
          log,
          timing: { metrics: metrics ?? null, model, arrivedAt },
        }),
      };
    },

    modelPrice: priceOf,

    async pendingSettlements(): Promise<void> {
      await Promise.allSettled([...pending]);
    },
  };
}

/** One neuron's part of a job that moved between neurons. */
interface Leg {
  session: NeuronSession;
  /** Completion tokens this neuron delivered (for the first, the prompt was its work too). */
  completionTokens: number;
}

/** A neuron's failure that another neuron may recover from; a refusal of the request (4xx) is not one. */
function canFailOver(error: HelexaError): boolean {
  return error.isRetryable && error.code !== "rate_limited";
}

/**
 * Streams the job's parts to the client and settles its hold once, at the end. When the neuron fails
 * mid-stream (it dropped, or its engine failed), the job moves to another neuron that serves the model:
 * from the start when the client has had no text yet, otherwise from the token ids already delivered
 * (`request.resume`), so the stream goes on with no gap and no repeated text and each token is billed
 * once, its operator's share going to the neuron that generated it. With no neuron left, the stream ends
 * with an error part and only the delivered completion tokens are charged.
 */
async function* metered(job: {
  parts: AsyncIterable<StreamPart>;
  request: GenerationRequest;
  requestId?: string;
  hold: Promise<void>;
  jobAbort: AbortController;
  signal: AbortSignal;
  onClientGone: () => void;
  price: ModelPrice;
  base: Pick<Settlement, "jobId" | "accountId" | "apiKeyId" | "model">;
  settle: (settlement: Settlement) => void;
  lease: Lease;
  place: (requirements: JobRequirements) => Promise<Lease>;
  serving: (modelId: string) => ReadonlySet<NeuronSession>;
  maxFailovers: number;
  log: Logger;
  timing: { metrics: GatewayMetrics | null; model: string; arrivedAt: number };
}): AsyncIterable<StreamPart> {
  const { metrics, model } = job.timing;
  const { jobId } = job.base;
  let lastTokenAt: number | null = null;
  let delivered: Usage = { promptTokens: 0, completionTokens: 0 };
  let holdPlaced = false;
  let settled = false;
  let lease = job.lease;
  /** Neurons that have had this job, the current one last. */
  const legs: Leg[] = [{ session: lease.session, completionTokens: 0 }];
  /** Ids of the completion tokens delivered, while every delta has said them. */
  let committed: number[] | null = [];
  let textDelivered = false;
  /** When the job last moved, until the new neuron's first text: the gap its client saw. */
  let movedAt: number | null = null;

  const settle = (status: Settlement["status"], code?: string) => {
    if (settled || !holdPlaced) return;
    settled = true;
    // A failed job is charged only for the completion tokens the client got, never for its prompt.
    const billable = status === "failed" ? { ...delivered, promptTokens: 0 } : delivered;
    const cost = costOf(billable, job.price);
    const current = legs.at(-1)!;
    current.completionTokens = Math.max(
      0,
      delivered.completionTokens - legs.slice(0, -1).reduce((sum, leg) => sum + leg.completionTokens, 0),
    );
    job.settle({
      ...job.base,
      neuronId: current.session.neuronId,
      operatorAccountId: current.session.operatorAccountId,
      usage: delivered,
      cost,
      status,
      ...(legs.length > 1 ? { servedBy: splitCost(legs, billable, job.price, cost) } : {}),
    });
    metrics?.requestFinished({ model, status, ...(code ? { code } : {}) });
    metrics?.tokens({ model, prompt: delivered.promptTokens, completion: delivered.completionTokens });
  };

  /** Another neuron for the job, or the reason there is none. */
  const failOver = async (failure: HelexaError): Promise<HelexaError | AsyncIterable<StreamPart>> => {
    const resume = textDelivered ? committed : [];
    if (resume === null) {
      return new HelexaError(
        "neuron_lost",
        `${failure.message}; the job cannot move to another neuron because its engine does not report token ids`,
      );
    }
    if (legs.length > job.maxFailovers) {
      return new HelexaError("neuron_lost", `${failure.message}; the job failed on ${legs.length} neurons`);
    }
    const tried = new Set(legs.map((leg) => leg.session));
    const accept = (session: NeuronSession) =>
      !tried.has(session) && (resume.length === 0 || session.canResume);
    // No neuron at all that could take it: say so now rather than wait out the queue's timeout.
    if (![...job.serving(model)].some((session) => accept(session) && !session.draining)) {
      return new HelexaError(
        "neuron_lost",
        `${failure.message}; no other neuron serving ${model} can continue the job`,
      );
    }
    const previous = legs.at(-1)!;
    // The neuron's part is the tokens it delivered: none when the job starts again from the beginning.
    previous.completionTokens = Math.max(
      0,
      resume.length - legs.slice(0, -1).reduce((sum, leg) => sum + leg.completionTokens, 0),
    );
    // Tokens generated but not delivered (a character's first bytes, or a reply that starts again) are
    // generated again, and billed once.
    delivered = { ...delivered, completionTokens: resume.length };
    lease.release();
    try {
      lease = await job.place({
        accountId: job.base.accountId,
        modelId: model,
        signal: job.jobAbort.signal,
        accept,
        size: jobSizeOf(job.request),
        priority: true,
      });
    } catch (error) {
      const reason = HelexaError.is(error) ? error.message : String(error);
      return new HelexaError(
        "neuron_lost",
        `${failure.message}; no neuron could continue the job (${reason})`,
      );
    }
    legs.push({ session: lease.session, completionTokens: 0 });
    movedAt = performance.now();
    metrics?.failover({ model });
    job.log.warn("job.failover", {
      requestId: job.requestId,
      jobId,
      from: previous.session.neuronId,
      to: lease.session.neuronId,
      resumedTokens: resume.length,
      reason: failure.message,
    });
    const request: GenerationRequest =
      resume.length > 0 ? { ...job.request, resume: { tokens: resume } } : job.request;
    try {
      return lease.session.startJob({
        jobId,
        request,
        signal: job.jobAbort.signal,
        ...(job.requestId ? { requestId: job.requestId } : {}),
      });
    } catch (error) {
      return HelexaError.is(error) ? error : new HelexaError("internal", String(error));
    }
  };

  try {
    try {
      await job.hold;
      holdPlaced = true;
    } catch (error) {
      job.jobAbort.abort(error);
      metrics?.requestFinished({
        model,
        status: "rejected",
        ...(HelexaError.is(error) ? { code: error.code } : {}),
      });
      throw error;
    }
    let parts = job.parts;
    for (;;) {
      let failure: HelexaError | null = null;
      for await (const part of parts) {
        if (part.type === "text-delta") {
          if (part.usage) delivered = part.usage;
          if (committed && part.tokens) committed.push(...part.tokens);
          else committed = null;
          if (part.text.length > 0) textDelivered = true;
          const now = performance.now();
          if (movedAt !== null) {
            job.log.info("job.resumed", {
              requestId: job.requestId,
              jobId,
              neuronId: legs.at(-1)?.session.neuronId,
              msSinceMove: Math.round(now - movedAt),
              msSinceLastText: lastTokenAt === null ? null : Math.round(now - lastTokenAt),
            });
            movedAt = null;
          }
          if (lastTokenAt === null)
            metrics?.firstToken({ model, seconds: (now - job.timing.arrivedAt) / 1000 });
          else metrics?.interToken({ model, seconds: (now - lastTokenAt) / 1000 });
          lastTokenAt = now;
          yield part;
        } else if (part.type === "finish") {
          delivered = part.usage;
          settle(part.finishReason === "cancelled" ? "cancelled" : "completed");
          yield part;
          return;
        } else {
          if (job.signal.aborted || !canFailOver(part.error)) {
            settle(part.error.code === "job_cancelled" ? "cancelled" : "failed", part.error.code);
            yield part;
            return;
          }
          failure = part.error;
          break;
        }
      }
      failure ??= new HelexaError("neuron_lost", "the neuron's stream ended without finishing");
      const next = await failOver(failure);
      if (HelexaError.is(next)) {
        settle("failed", next.code);
        yield { type: "error", error: next };
        return;
      }
      parts = next;
    }
  } finally {
    lease.release();
    job.signal.removeEventListener("abort", job.onClientGone);
    job.jobAbort.abort(new HelexaError("job_cancelled", "the gateway stopped reading the job"));
    // The reader left before the end (client gone): bill what reached this cortex.
    settle("cancelled");
  }
}

/**
 * Each neuron's part of the cost, for its operator's share: the first served the prompt, each its own
 * completion tokens. The parts add up to `cost`, the last taking the rounding.
 */
function splitCost(
  legs: readonly Leg[],
  billable: Usage,
  price: ModelPrice,
  cost: number,
): NonNullable<Settlement["servedBy"]> {
  let left = cost;
  return legs.map((leg, index) => {
    const part =
      index === legs.length - 1
        ? left
        : Math.min(
            left,
            costOf(
              {
                promptTokens: index === 0 ? billable.promptTokens : 0,
                completionTokens: leg.completionTokens,
              },
              price,
            ),
          );
    left -= part;
    return { operatorAccountId: leg.session.operatorAccountId, cost: part };
  });
}

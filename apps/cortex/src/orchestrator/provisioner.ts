// SPDX-License-Identifier: PolyForm-Shield-1.0
// Puts catalog models on neurons on demand: picks a neuron with room in its memory budget (unloading its least recently used idle models first) and asks it to load.

import type { Logger } from "@helexa/log";
import {
  errorCodeTable,
  HelexaError,
  type ModelCapability,
  type ModelError,
  type ModelProgress,
} from "@helexa/protocol";
import type { ProvisioningMetrics } from "../metrics/provisioning-metrics.js";
import type { Lease } from "./job-queue.js";
import type { NeuronRegistry } from "./neuron-registry.js";
import type { NeuronSession } from "./neuron-session.js";

/** What the catalog says about where a model comes from; a model without url, sha256 and size cannot be provisioned. */
export interface CatalogModelSource {
  id: string;
  sourceUrl: string | null;
  sha256: string | null;
  sizeBytes: number | null;
  contextLength: number;
}

export interface ProvisionerOptions {
  registry: NeuronRegistry;
  /** The catalog's entry for a model; null when the catalog lacks it. */
  catalog: (modelId: string) => Promise<CatalogModelSource | null>;
  log: Logger;
  metrics?: ProvisioningMetrics;
  /** A load that reports nothing (no progress, no end) for this long is given up; 120 s by default. */
  stallTimeoutMs?: number;
  /**
   * How long a failed load's error answers new requests for the same catalog entry, rather than a new
   * download: 60 s when a retry cannot help (a checksum mismatch), 5 s when it may. A changed entry
   * (url, sha256 or size) is tried again at once.
   */
  failureMemoryMs?: { permanent: number; retryable: number };
  /** How long a catalog entry is reused before it is read again; 5 s by default. */
  catalogCacheMs?: number;
  /** Milliseconds, for the least-recently-used order; performance.now by default. */
  now?: () => number;
}

/** A load of one model on one neuron, from the request until the neuron lists the model (or fails). */
interface LoadAttempt {
  modelId: string;
  session: NeuronSession;
  source: { url: string; sha256: string; sizeBytes: number; contextLength: number };
  startedAt: number;
  state: "pending" | "failed";
  /** Aborted with the load's error when it fails, which ends the waits of the jobs queued for it. */
  abort: AbortController;
  error: HelexaError | null;
  failedAt: number;
  /** The progress step last logged, so the log gets a line per quarter, not per report. */
  loggedStep: string;
  stallTimer: NodeJS.Timeout | null;
}

interface ModelUse {
  running: number;
  lastUsedAt: number;
}

/** One neuron that can take the model, and what must be unloaded there first. */
export interface ProvisioningPlan {
  session: NeuronSession;
  /** Model ids to unload first, least recently used first. */
  evict: string[];
  /** Bytes of the budget left once the model is in. */
  freeAfter: number;
}

/**
 * One load per model at a time across this cortex's neurons. Requests for a model being loaded wait in
 * the job queue (its timeout applies) and are placed when the neuron's capabilities list the model; a
 * failed load fails them with the neuron's error. The provisioner learns which neuron ran which model
 * from the queue's leases (`track`), which is how it knows what is idle and what was used least recently.
 */
export class Provisioner {
  readonly #options: ProvisionerOptions;
  readonly #now: () => number;
  readonly #attempts = new Map<string, LoadAttempt>();
  readonly #use = new Map<NeuronSession, Map<string, ModelUse>>();
  /** Jobs in the queue per model, placed or not yet. */
  readonly #queued = new Map<string, number>();
  readonly #catalog = new Map<string, { source: CatalogModelSource | null; until: number }>();
  readonly #unsubscribe: () => void;

  constructor(options: ProvisionerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#unsubscribe = options.registry.onChange((event, session) => {
      if (event === "removed") this.#sessionGone(session);
      else this.#capabilitiesChanged(session);
    });
    options.metrics?.setLoadingSource(() => this.loading().length);
  }

  /**
   * For a model no ready neuron serves: starts a load of it (unless one is under way) and returns what
   * the gateway needs to go on (the catalog's context length); the job then waits in the queue. Null
   * when the catalog does not know the model; throws no_capacity when no neuron can take it, and the
   * error of a load that failed moments ago.
   */
  async provision(modelId: string): Promise<ModelCapability | null> {
    const entry = await this.#source(modelId);
    if (!entry) return null;
    const { sourceUrl, sha256, sizeBytes, contextLength } = entry;
    if (!sourceUrl || !sha256 || !sizeBytes) {
      throw new HelexaError(
        "no_capacity",
        `no neuron is serving ${modelId} right now, and the catalog has no source URL, sha256 and size to load it from`,
      );
    }
    const capability = { id: modelId, contextLength };
    if (this.#served(modelId)) return capability;
    const source = { url: sourceUrl, sha256, sizeBytes, contextLength };
    const attempt = this.#attempts.get(modelId);
    if (attempt?.state === "pending") return capability;
    if (attempt?.state === "failed" && attempt.error && sameSource(attempt.source, source)) {
      if (this.#now() - attempt.failedAt < this.#failureMemory(attempt.error)) throw attempt.error;
    }
    const plan = this.plan(modelId, sizeBytes);
    if (!plan) throw this.#noRoom(modelId, sizeBytes);
    this.#start(modelId, source, plan);
    return capability;
  }

  /** Where the model would go now, or null: the candidate needing the fewest unloads, then the most room. */
  plan(modelId: string, sizeBytes: number): ProvisioningPlan | null {
    let best: ProvisioningPlan | null = null;
    for (const session of this.#options.registry.list()) {
      const plan = this.#planOn(session, modelId, sizeBytes);
      if (!plan) continue;
      if (
        !best ||
        plan.evict.length < best.evict.length ||
        (plan.evict.length === best.evict.length &&
          (plan.freeAfter > best.freeAfter ||
            (plan.freeAfter === best.freeAfter && session.activeJobs < best.session.activeJobs)))
      ) {
        best = plan;
      }
    }
    return best;
  }

  /** The signal a job waiting for this model also waits on: it aborts with the load's error if the load fails. */
  loadSignal(modelId: string): AbortSignal | undefined {
    const attempt = this.#attempts.get(modelId);
    if (!attempt || this.#served(modelId)) return undefined;
    if (attempt.state === "pending") return attempt.abort.signal;
    if (attempt.error && this.#now() - attempt.failedAt < this.#failureMemory(attempt.error)) {
      return attempt.abort.signal;
    }
    return undefined;
  }

  /** Counts a job entering (+1) or leaving (-1) the queue: a model jobs wait for is never unloaded. */
  queued(modelId: string, change: 1 | -1): void {
    const count = (this.#queued.get(modelId) ?? 0) + change;
    if (count > 0) this.#queued.set(modelId, count);
    else this.#queued.delete(modelId);
  }

  /** Records the job on its neuron's model until the lease is released. */
  track(lease: Lease, modelId: string): Lease {
    const use = this.#useOf(lease.session, modelId);
    use.running += 1;
    use.lastUsedAt = this.#now();
    let ended = false;
    return {
      ...lease,
      release: () => {
        if (!ended) {
          ended = true;
          use.running = Math.max(0, use.running - 1);
          use.lastUsedAt = this.#now();
        }
        lease.release();
      },
    };
  }

  /** A neuron's `model.progress` or `model.error`. */
  onModelMessage(session: NeuronSession, message: ModelProgress | ModelError): void {
    const { log } = this.#options;
    const attempt = this.#attempts.get(message.modelId);
    const current = attempt?.state === "pending" && attempt.session === session ? attempt : null;
    if (message.type === "model.error") {
      if (current) this.#fail(current, HelexaError.fromWire(message.error));
      else
        log.warn("model.error", {
          neuronId: session.neuronId,
          model: message.modelId,
          code: message.error.code,
          message: message.error.message,
        });
      return;
    }
    if (!current) return;
    this.#armStallTimer(current);
    const step = `${message.phase}:${message.fraction === null ? "?" : Math.floor(message.fraction * 4)}`;
    if (step === current.loggedStep) return;
    current.loggedStep = step;
    log.info("model.progress", {
      neuronId: session.neuronId,
      model: message.modelId,
      phase: message.phase,
      percent: message.fraction === null ? null : Math.round(message.fraction * 100),
      bytes: message.bytes,
    });
  }

  /** Loads under way, for `/health` and the metrics. */
  loading(): Array<{ modelId: string; neuronId: string; seconds: number }> {
    const now = this.#now();
    return [...this.#attempts.values()]
      .filter((attempt) => attempt.state === "pending")
      .map((attempt) => ({
        modelId: attempt.modelId,
        neuronId: attempt.session.neuronId,
        seconds: (now - attempt.startedAt) / 1000,
      }));
  }

  close(): void {
    this.#unsubscribe();
    for (const attempt of this.#attempts.values()) if (attempt.stallTimer) clearTimeout(attempt.stallTimer);
  }

  #planOn(session: NeuronSession, modelId: string, sizeBytes: number): ProvisioningPlan | null {
    const capabilities = session.capabilities;
    const budget = capabilities?.memoryBudgetBytes;
    if (!session.ready || session.draining || !capabilities?.provisioning || budget === undefined)
      return null;
    if (sizeBytes > budget || session.models.some((model) => model.id === modelId)) return null;
    let free = budget;
    for (const attempt of this.#attempts.values()) {
      if (attempt.state === "pending" && attempt.session === session) free -= attempt.source.sizeBytes;
    }
    for (const model of session.models) free -= model.sizeBytes ?? 0;
    const evict: string[] = [];
    if (free < sizeBytes) {
      const idle = session.models
        .filter((model) => this.#idle(session, model.id))
        .sort((first, second) => {
          const used = this.#lastUsedAt(session, first.id) - this.#lastUsedAt(session, second.id);
          // Among models never used here, the larger goes first: it frees more.
          return used !== 0 ? used : (second.sizeBytes ?? 0) - (first.sizeBytes ?? 0);
        });
      for (const model of idle) {
        if (free >= sizeBytes) break;
        if (!model.sizeBytes) continue;
        evict.push(model.id);
        free += model.sizeBytes;
      }
      if (free < sizeBytes) return null;
    }
    return { session, evict, freeAfter: free - sizeBytes };
  }

  #start(modelId: string, source: LoadAttempt["source"], plan: ProvisioningPlan): void {
    const { registry, log, metrics } = this.#options;
    const { session } = plan;
    for (const evicted of plan.evict) {
      session.sendSession({ type: "model.unload", modelId: evicted });
      this.#use.get(session)?.delete(evicted);
      // Placement stops offering the model here at once; the neuron's next capabilities confirm it.
      const capabilities = session.capabilities;
      if (capabilities) {
        session.capabilities = {
          ...capabilities,
          models: capabilities.models.filter((model) => model.id !== evicted),
        };
        registry.updated(session);
      }
      metrics?.unloadRequested({ model: evicted });
      log.info("model.unload_requested", { neuronId: session.neuronId, model: evicted, for: modelId });
    }
    const attempt: LoadAttempt = {
      modelId,
      session,
      source,
      startedAt: this.#now(),
      state: "pending",
      abort: new AbortController(),
      error: null,
      failedAt: 0,
      loggedStep: "",
      stallTimer: null,
    };
    const previous = this.#attempts.get(modelId);
    if (previous?.stallTimer) clearTimeout(previous.stallTimer);
    this.#attempts.set(modelId, attempt);
    // A model just loaded is not the least recently used one of its neuron.
    this.#useOf(session, modelId).lastUsedAt = this.#now();
    session.sendSession({ type: "model.load", modelId, ...source });
    this.#armStallTimer(attempt);
    metrics?.loadStarted({ model: modelId });
    log.info("model.load_requested", {
      neuronId: session.neuronId,
      model: modelId,
      sizeBytes: source.sizeBytes,
      evicted: plan.evict,
    });
  }

  #armStallTimer(attempt: LoadAttempt): void {
    if (attempt.stallTimer) clearTimeout(attempt.stallTimer);
    const timeoutMs = this.#options.stallTimeoutMs ?? 120_000;
    attempt.stallTimer = setTimeout(() => {
      if (attempt.state !== "pending") return;
      // The neuron may still be at it: told to stop, so that it does not load what nobody waits for.
      attempt.session.sendSession({ type: "model.unload", modelId: attempt.modelId });
      this.#fail(
        attempt,
        new HelexaError(
          "timeout",
          `neuron ${attempt.session.name} reported nothing on loading ${attempt.modelId} for ${Math.round(timeoutMs / 1000)} s`,
        ),
      );
    }, timeoutMs);
    attempt.stallTimer.unref();
  }

  #fail(attempt: LoadAttempt, error: HelexaError): void {
    if (attempt.state !== "pending") return;
    attempt.state = "failed";
    attempt.error = error;
    attempt.failedAt = this.#now();
    if (attempt.stallTimer) clearTimeout(attempt.stallTimer);
    attempt.stallTimer = null;
    this.#use.get(attempt.session)?.delete(attempt.modelId);
    this.#options.metrics?.loadFinished({ model: attempt.modelId, result: "failed" });
    this.#options.log.warn("model.load_failed", {
      neuronId: attempt.session.neuronId,
      model: attempt.modelId,
      code: error.code,
      message: error.message,
    });
    attempt.abort.abort(error);
  }

  #capabilitiesChanged(session: NeuronSession): void {
    const models = new Set(session.models.map((model) => model.id));
    for (const attempt of this.#attempts.values()) {
      if (attempt.state !== "pending" || attempt.session !== session || !models.has(attempt.modelId))
        continue;
      if (attempt.stallTimer) clearTimeout(attempt.stallTimer);
      this.#attempts.delete(attempt.modelId);
      this.#options.metrics?.loadFinished({ model: attempt.modelId, result: "loaded" });
      this.#options.log.info("model.loaded", {
        neuronId: session.neuronId,
        model: attempt.modelId,
        seconds: Math.round(this.#now() - attempt.startedAt) / 1000,
      });
    }
  }

  #sessionGone(session: NeuronSession): void {
    for (const attempt of this.#attempts.values()) {
      if (attempt.state === "pending" && attempt.session === session) {
        this.#fail(
          attempt,
          new HelexaError("neuron_lost", `neuron ${session.name} went away while loading ${attempt.modelId}`),
        );
      }
    }
    this.#use.delete(session);
  }

  #noRoom(modelId: string, sizeBytes: number): HelexaError {
    const candidates = this.#options.registry
      .list()
      .filter((session) => session.ready && !session.draining && session.capabilities?.provisioning);
    const size = `${(sizeBytes / 1e6).toFixed(1)} MB`;
    const message =
      candidates.length === 0
        ? `no neuron is serving ${modelId} right now, and none that could load it is connected`
        : `no neuron is serving ${modelId} right now, and none of the ${candidates.length} that load models has room for it (${size}) beside the models in use there`;
    return new HelexaError("no_capacity", message, { retryAfterSeconds: 5 });
  }

  #idle(session: NeuronSession, modelId: string): boolean {
    if ((this.#queued.get(modelId) ?? 0) > 0) return false;
    return (this.#use.get(session)?.get(modelId)?.running ?? 0) === 0;
  }

  #lastUsedAt(session: NeuronSession, modelId: string): number {
    return this.#use.get(session)?.get(modelId)?.lastUsedAt ?? Number.NEGATIVE_INFINITY;
  }

  #useOf(session: NeuronSession, modelId: string): ModelUse {
    let models = this.#use.get(session);
    if (!models) {
      models = new Map();
      this.#use.set(session, models);
    }
    let use = models.get(modelId);
    if (!use) {
      use = { running: 0, lastUsedAt: Number.NEGATIVE_INFINITY };
      models.set(modelId, use);
    }
    return use;
  }

  #served(modelId: string): boolean {
    return this.#options.registry.models().some((model) => model.id === modelId);
  }

  #failureMemory(error: HelexaError): number {
    const memory = this.#options.failureMemoryMs ?? { permanent: 60_000, retryable: 5_000 };
    return errorCodeTable[error.code].retryable ? memory.retryable : memory.permanent;
  }

  async #source(modelId: string): Promise<CatalogModelSource | null> {
    const cached = this.#catalog.get(modelId);
    const now = Date.now();
    if (cached && cached.until > now) return cached.source;
    const source = await this.#options.catalog(modelId);
    this.#catalog.set(modelId, { source, until: now + (this.#options.catalogCacheMs ?? 5000) });
    if (this.#catalog.size > 10_000) this.#catalog.clear();
    return source;
  }
}

function sameSource(first: LoadAttempt["source"], second: LoadAttempt["source"]): boolean {
  return first.url === second.url && first.sha256 === second.sha256 && first.sizeBytes === second.sizeBytes;
}

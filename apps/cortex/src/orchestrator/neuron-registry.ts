// SPDX-License-Identifier: PolyForm-Shield-1.0
// The live registry of neurons connected to this cortex, indexed by the models they serve.

import type { ModelCapability } from "@helexa/protocol";
import type { NeuronSession } from "./neuron-session.js";

/** "updated": the session's capabilities (models, slots) changed while it stayed registered. */
export type RegistryEvent = "added" | "removed" | "updated";

export class NeuronRegistry {
  readonly #sessions = new Map<string, NeuronSession>();
  /** Model id → the registered sessions that serve it, so a placement never walks every neuron. */
  readonly #byModel = new Map<string, Set<NeuronSession>>();
  /** The model ids each session is indexed under, as they were when it was indexed. */
  readonly #indexed = new Map<NeuronSession, readonly string[]>();
  readonly #listeners = new Set<(event: RegistryEvent, session: NeuronSession) => void>();

  add(session: NeuronSession): void {
    const previous = this.#sessions.get(session.neuronId);
    // A neuron that reconnects replaces its old session, which is closed with its jobs.
    if (previous && previous !== session) {
      previous.close("replaced by a new connection from the same neuron");
      // Closing removes it through its onClose; one that is still here (a stand-in) is removed now.
      this.remove(previous);
    }
    this.#sessions.set(session.neuronId, session);
    this.#index(session);
    this.#emit("added", session);
  }

  remove(session: NeuronSession): void {
    if (this.#sessions.get(session.neuronId) !== session) return;
    this.#sessions.delete(session.neuronId);
    this.#unindex(session);
    this.#emit("removed", session);
  }

  /** Re-indexes a registered session after its capabilities changed; nothing for one not registered. */
  updated(session: NeuronSession): void {
    if (this.#sessions.get(session.neuronId) !== session) return;
    this.#index(session);
    this.#emit("updated", session);
  }

  onChange(listener: (event: RegistryEvent, session: NeuronSession) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get size(): number {
    return this.#sessions.size;
  }

  list(): NeuronSession[] {
    return [...this.#sessions.values()];
  }

  get(neuronId: string): NeuronSession | undefined {
    return this.#sessions.get(neuronId);
  }

  /** The registered sessions that serve the model (ready or not); empty when none does. */
  serving(modelId: string): ReadonlySet<NeuronSession> {
    return this.#byModel.get(modelId) ?? noSessions;
  }

  /** Models served by at least one ready neuron, with the largest context any of them offers. */
  models(): ModelCapability[] {
    const byId = new Map<string, ModelCapability>();
    for (const session of this.#sessions.values()) {
      // A draining neuron is on its way out: what only it serves is answered 503 at once, not queued.
      if (!session.ready || session.draining) continue;
      for (const model of session.models) {
        const known = byId.get(model.id);
        if (!known || known.contextLength < model.contextLength) byId.set(model.id, model);
      }
    }
    return [...byId.values()];
  }

  /** The ready neuron with the model and the most free room; null when none serves it. */
  pick(modelId: string, accept?: (session: NeuronSession) => boolean): NeuronSession | null {
    let best: NeuronSession | null = null;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const session of this.serving(modelId)) {
      if (!session.ready || session.draining) continue; // draining: nothing new goes there
      if (accept && !accept(session)) continue;
      const load = session.activeJobs / session.slots;
      if (load < bestLoad) {
        best = session;
        bestLoad = load;
      }
    }
    return best;
  }

  #emit(event: RegistryEvent, session: NeuronSession): void {
    for (const listener of this.#listeners) listener(event, session);
  }

  #index(session: NeuronSession): void {
    this.#unindex(session);
    const models = [...new Set(session.models.map((model) => model.id))];
    this.#indexed.set(session, models);
    for (const model of models) {
      let sessions = this.#byModel.get(model);
      if (!sessions) {
        sessions = new Set();
        this.#byModel.set(model, sessions);
      }
      sessions.add(session);
    }
  }

  #unindex(session: NeuronSession): void {
    const models = this.#indexed.get(session);
    if (!models) return;
    this.#indexed.delete(session);
    for (const model of models) {
      const sessions = this.#byModel.get(model);
      if (!sessions) continue;
      sessions.delete(session);
      if (sessions.size === 0) this.#byModel.delete(model);
    }
  }
}

const noSessions: ReadonlySet<NeuronSession> = new Set();

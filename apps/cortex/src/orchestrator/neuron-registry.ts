// SPDX-License-Identifier: PolyForm-Shield-1.0
// The live registry of neurons connected to this cortex, and the choice of one for a job.

import type { ModelCapability } from "@helexa/protocol";
import type { NeuronSession } from "./neuron-session.js";

export class NeuronRegistry {
  readonly #sessions = new Map<string, NeuronSession>();
  readonly #listeners = new Set<(event: "added" | "removed", session: NeuronSession) => void>();

  add(session: NeuronSession): void {
    const previous = this.#sessions.get(session.neuronId);
    // A neuron that reconnects replaces its old session, which is closed with its jobs.
    if (previous && previous !== session) previous.close("replaced by a new connection from the same neuron");
    this.#sessions.set(session.neuronId, session);
    for (const listener of this.#listeners) listener("added", session);
  }

  remove(session: NeuronSession): void {
    if (this.#sessions.get(session.neuronId) !== session) return;
    this.#sessions.delete(session.neuronId);
    for (const listener of this.#listeners) listener("removed", session);
  }

  onChange(listener: (event: "added" | "removed", session: NeuronSession) => void): () => void {
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

  /** Models served by at least one ready neuron, with the largest context any of them offers. */
  models(): ModelCapability[] {
    const byId = new Map<string, ModelCapability>();
    for (const session of this.#sessions.values()) {
      if (!session.ready) continue;
      for (const model of session.models) {
        const known = byId.get(model.id);
        if (!known || known.contextLength < model.contextLength) byId.set(model.id, model);
      }
    }
    return [...byId.values()];
  }

  /** The ready neuron with the model and the most free room; null when none serves it. */
  pick(modelId: string): NeuronSession | null {
    let best: NeuronSession | null = null;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const session of this.#sessions.values()) {
      if (!session.ready || !session.models.some((model) => model.id === modelId)) continue;
      const load = session.activeJobs / session.slots;
      if (load < bestLoad) {
        best = session;
        bestLoad = load;
      }
    }
    return best;
  }
}

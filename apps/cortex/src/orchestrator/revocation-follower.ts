// SPDX-License-Identifier: PolyForm-Shield-1.0
// Follows neuron revocations made through any cortex sharing the database and closes the sessions they name here.

import type { Logger } from "@helexa/log";
import type { NeuronRevocationMatch } from "./neuron-session-revoker.js";
import type { OrchestratorServer } from "./orchestrator-server.js";

/** What the database offers for it: `createDatabaseCortexStore` gives it over LISTEN/NOTIFY. */
export interface NeuronRevocationSource {
  /** Resolves once listening: a revocation committed after that is heard. */
  watch(handlers: {
    onRevocation(revocation: NeuronRevocationMatch): void;
    /** The listening connection was down: revocations may have gone unheard. */
    onMissedRevocations(): void;
  }): Promise<{ close(): Promise<void> }>;
  /** Of these connected neurons, the ones whose token (credential) no longer admits them. */
  findRevoked(neurons: Array<{ neuronId: string; credential: string }>): Promise<string[]>;
}

/** A re-check that failed (the database just came back, and went again) is tried again this much later. */
const recheckRetryMs = 1_000;

export async function followNeuronRevocations(options: {
  orchestrator: OrchestratorServer;
  source: NeuronRevocationSource;
  log: Logger;
}): Promise<{ close(): Promise<void> }> {
  const { orchestrator, source, log } = options;
  let closed = false;
  let rechecking = false;
  let recheckAgain = false;
  let retryTimer: NodeJS.Timeout | null = null;

  const revoke = (revocation: NeuronRevocationMatch) => {
    const sessions = orchestrator.revoke(revocation);
    if (sessions > 0) log.info("neuron.revoked", { ...revocation, sessions });
  };

  // Every connected neuron's token is checked once more; a second miss during the check runs another.
  const recheck = async () => {
    if (rechecking) {
      recheckAgain = true;
      return;
    }
    rechecking = true;
    try {
      do {
        recheckAgain = false;
        const connected = orchestrator.missedRevocations();
        if (connected.length === 0) continue;
        const revoked = await source.findRevoked(connected);
        for (const neuronId of revoked) revoke({ reason: "no_longer_admitted", neuronId });
        log.info("neuron.revocations_rechecked", { connected: connected.length, revoked: revoked.length });
      } while (recheckAgain && !closed);
    } catch (error) {
      log.error("neuron.revocation_recheck_failed", { error: String(error) });
      if (!closed) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          void recheck();
        }, recheckRetryMs);
        retryTimer.unref();
      }
    } finally {
      rechecking = false;
    }
  };

  const watch = await source.watch({
    onRevocation: (revocation) => {
      if (!closed) revoke(revocation);
    },
    onMissedRevocations: () => {
      if (closed) return;
      log.warn("neuron.revocations_missed", {
        message:
          "the database connection that listens for revocations was lost; checking every neuron's token",
      });
      void recheck();
    },
  });
  return {
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await watch.close();
    },
  };
}

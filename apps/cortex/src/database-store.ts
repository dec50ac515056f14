// SPDX-License-Identifier: PolyForm-Shield-1.0
// cortex's store over @helexa/db: keys, neuron tokens, catalog prices, and the batched credit ledger.

import {
  createApiKeyStore,
  createModelCatalog,
  createNeuronStore,
  type Database,
  hashSecretToken,
  Ledger,
  ledgerTotals,
  recoverUnsettledJobs,
  watchNeuronRevocations,
} from "@helexa/db";
import type { Logger } from "@helexa/log";
import { defaultModel } from "@helexa/models";
import type { CortexStore } from "./cortex.js";

export interface DatabaseCortexStoreOptions {
  database: Database;
  /** The operator's part of what a job costs, 0..1. */
  operatorShare: number;
  /**
   * Models a neuron serves that the catalog lacks are added at these prices, so that a new fabric
   * works at once; null leaves the catalog to its admin.
   */
  newModelPrices: { promptPerMillion: number; completionPerMillion: number } | null;
  log: Logger;
}

export interface DatabaseCortexStore extends CortexStore {
  /** The batched ledger this store settles through; the portal shares it. */
  readonly ledger: Ledger;
}

export function createDatabaseCortexStore(options: DatabaseCortexStoreOptions): DatabaseCortexStore {
  const { db } = options.database;
  const apiKeys = createApiKeyStore({ db });
  const neurons = createNeuronStore({ db });
  const catalog = createModelCatalog({ db });
  const ledger = new Ledger({ db, defaultOperatorShare: options.operatorShare });

  return {
    ledger,

    async verifyApiKey(key) {
      const verified = await apiKeys.verifyApiKey(key);
      return verified
        ? {
            accountId: verified.accountId,
            apiKeyId: verified.keyId,
            rateLimitPerMinute: verified.rateLimitPerMinute,
          }
        : null;
    },

    async modelPrice(modelId) {
      const model = await catalog.getModel(modelId);
      if (!model) return null;
      return {
        contextLength: model.contextLength,
        pricePromptPerMillion: model.pricePromptPerMillion,
        priceCompletionPerMillion: model.priceCompletionPerMillion,
      };
    },

    async modelSource(modelId) {
      const model = await catalog.getModel(modelId);
      if (!model) return null;
      return {
        id: model.id,
        sourceUrl: model.sourceUrl,
        sha256: model.sha256,
        sizeBytes: model.sizeBytes,
        contextLength: model.contextLength,
      };
    },

    async placeHold({ jobId, caller, model, amount }) {
      await ledger.placeHold({
        jobId,
        accountId: caller.accountId,
        amount,
        job: { apiKeyId: caller.apiKeyId, model },
      });
    },

    async settle(settlement) {
      await ledger.settleHold({
        jobId: settlement.jobId,
        cost: settlement.cost,
        operatorAccountId: settlement.operatorAccountId,
        promptTokens: settlement.usage.promptTokens,
        completionTokens: settlement.usage.completionTokens,
        neuronId: settlement.neuronId,
        status: settlement.status,
        ...(settlement.servedBy ? { servedBy: settlement.servedBy } : {}),
      });
    },

    async verifyNeuronToken(token) {
      const verified = await neurons.verifyNeuronToken(token);
      return verified
        ? {
            neuronId: verified.neuronId,
            operatorAccountId: verified.accountId,
            // Its hash, not the token: enough to check it again after a missed revocation.
            credential: hashSecretToken(token),
          }
        : null;
    },

    neuronRevocations: {
      watch: (handlers) =>
        watchNeuronRevocations(options.database, {
          ...handlers,
          onInvalidPayload: (payload) =>
            options.log.warn("neuron.revocation_invalid", { payload: payload.slice(0, 200) }),
        }),
      findRevoked: (connected) =>
        neurons.findRevokedNeurons(
          connected.map((neuron) => ({ neuronId: neuron.neuronId, tokenHash: neuron.credential })),
        ),
    },

    async onNeuronModels(session) {
      if (session.capabilities) {
        await neurons.saveCapabilities({ neuronId: session.neuronId, capabilities: session.capabilities });
      }
      const prices = options.newModelPrices;
      if (!prices) return;
      // The default model's file is known: browser tabs can fetch it from cortex (`/models/<id>/file`).
      const defaultFile = {
        sourceUrl: defaultModel.url,
        sha256: defaultModel.sha256,
        sizeBytes: defaultModel.sizeBytes,
      };
      for (const model of session.models) {
        const known = await catalog.getModel(model.id);
        if (known) {
          // A catalog written before cortex served model files learns the default model's.
          if (model.id === defaultModel.id && !known.sourceUrl) {
            const { createdAt: _createdAt, updatedAt: _updatedAt, ...entry } = known;
            await catalog.upsertModel({ ...entry, ...defaultFile });
          }
          continue;
        }
        await catalog.upsertModel({
          id: model.id,
          ...(model.id === defaultModel.id ? defaultFile : {}),
          contextLength: model.contextLength,
          pricePromptPerMillion: prices.promptPerMillion,
          priceCompletionPerMillion: prices.completionPerMillion,
        });
        options.log.info("catalog.model_added", { model: model.id, neuronId: session.neuronId, ...prices });
      }
    },

    async recoverUnsettledJobs() {
      // Right for one cortex at its start; several cortex nodes sharing a database need a cutoff
      // older than the longest job, which comes with cross-node routing.
      const report = await recoverUnsettledJobs({ db, ledger });
      return { jobs: report.failedJobs, holds: report.releasedHolds };
    },

    ledgerTotals: () => ledgerTotals({ db }),

    async flush() {
      await ledger.close();
      await apiKeys.close();
      await neurons.close();
    },
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The fabric as the portal sees it: live neurons from the registry, and chat through the gateway's own path.

import { randomUUID } from "node:crypto";
import type { Fabric, LiveNeuron } from "@helexa/api";
import { chatCompletionRequestSchema, chatRequestToGeneration, HelexaError } from "@helexa/protocol";
import type { createGatewayBackend } from "../gateway/gateway-backend.js";
import { costOf } from "../gateway/pricing.js";
import type { NeuronRegistry } from "../orchestrator/neuron-registry.js";
import type { OrchestratorServer } from "../orchestrator/orchestrator-server.js";

/** The portal's chat asks for at most this many tokens unless the person sets fewer. */
const defaultChatMaxTokens = 512;

export function createFabric(options: {
  registry: NeuronRegistry;
  backend: ReturnType<typeof createGatewayBackend>;
  /** Closes a revoked neuron's session with a typed error, as every other cortex does on hearing of it. */
  orchestrator?: Pick<OrchestratorServer, "revoke">;
}): Fabric {
  const { registry, backend } = options;
  return {
    liveNeurons(): LiveNeuron[] {
      return registry.list().map((session) => ({
        neuronId: session.neuronId,
        operatorAccountId: session.operatorAccountId,
        kind: session.capabilities?.host === "browser" ? "browser" : "native",
        models: session.models.map((model) => ({ id: model.id, contextLength: model.contextLength })),
        runtime: session.capabilities?.runtime ?? null,
        hardware: session.capabilities?.hardware ?? null,
        slots: session.slots,
        activeJobs: session.activeJobs,
        connectedAt: new Date(session.connectedAt),
      }));
    },

    async chat({ accountId, model, messages, maxTokens, temperature, signal }) {
      const request = chatRequestToGeneration(
        chatCompletionRequestSchema.parse({
          model,
          messages,
          stream: true,
          max_tokens: maxTokens ?? defaultChatMaxTokens,
          ...(temperature !== undefined ? { temperature } : {}),
        }),
      );
      const generation = await backend.generate({
        caller: { accountId, apiKeyId: null },
        request,
        signal,
        requestId: `portal-${randomUUID()}`,
      });
      const jobId = generation.headers?.["x-helexa-job"];
      const neuronId = generation.headers?.["x-helexa-neuron"];
      if (!jobId || !neuronId) throw new HelexaError("internal", "the gateway placed a job without an id");
      return { jobId, neuronId, parts: generation.parts };
    },

    disconnectNeuron(neuronId) {
      if (options.orchestrator) options.orchestrator.revoke({ reason: "revoked", neuronId });
      else registry.get(neuronId)?.close("its token was revoked");
    },

    async cost({ model, usage }) {
      const price = await backend.modelPrice(model);
      return price ? costOf(usage, price) : 0;
    },
  };
}

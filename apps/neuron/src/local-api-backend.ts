// SPDX-License-Identifier: PolyForm-Shield-1.0
// The neuron's own OpenAI API: its operator calls the local runtime directly, optionally behind a key.

import { timingSafeEqual } from "node:crypto";
import type { Generation, OpenAIBackend } from "@helexa/openai-http";
import { HelexaError, type ModelObject } from "@helexa/protocol";
import type { LanguageModelRuntime } from "@helexa/runtime";

export function createLocalApiBackend(options: {
  runtime: LanguageModelRuntime;
  /** When set, requests must carry it as a bearer token. */
  apiKey?: string;
}): OpenAIBackend<null> {
  const { runtime } = options;
  const expected = options.apiKey ? Buffer.from(options.apiKey) : null;
  return {
    async authenticate(request) {
      if (!expected) return null;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
      const given = Buffer.from(match?.[1] ?? "");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HelexaError("invalid_api_key", "Incorrect API key provided.");
      }
      return null;
    },
    async listModels(): Promise<ModelObject[]> {
      return runtime
        .models()
        .map((model) => ({ id: model.id, object: "model", created: 0, owned_by: "local" }));
    },
    async generate({ request, signal }): Promise<Generation> {
      if (!runtime.models().some((model) => model.id === request.model)) {
        throw new HelexaError("model_not_found", `The model \`${request.model}\` does not exist.`, {
          param: "model",
        });
      }
      return { parts: runtime.doStream({ request, abortSignal: signal }) };
    },
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// A runtime that fronts any OpenAI-compatible engine by URL: llama-server, vLLM, Ollama, or another neuron.

import {
  chatCompletionChunkSchema,
  completionChunkSchema,
  type FinishReason,
  type GenerationRequest,
  HelexaError,
  modelObjectSchema,
  type Usage,
} from "@helexa/protocol";
import { z } from "zod";
import {
  generateFromStream,
  type LanguageModelRuntime,
  RUNTIME_SPECIFICATION_VERSION,
  type RuntimeModel,
  type StreamOptions,
  type StreamPart,
} from "./runtime.js";

export interface OpenAIUpstreamRuntimeOptions {
  /** The engine's base URL, with or without the trailing /v1. */
  baseUrl: string;
  apiKey?: string;
  /** Generations at once; the engine batches them itself. */
  slots?: number;
  /** Context length to advertise where the engine does not say. */
  defaultContextLength?: number;
  /** Serve only these of the engine's models; all of them by default. */
  models?: string[];
}

const modelListSchema = z.object({
  data: z.array(
    modelObjectSchema.partial({ object: true, created: true, owned_by: true }).extend({
      // llama-server and vLLM report the context they were started with under different names.
      max_model_len: z.int().optional(),
      meta: z.object({ n_ctx_train: z.int().optional() }).nullish(),
    }),
  ),
});

const errorEventSchema = z.object({ error: z.object({ message: z.string() }).loose() });

export async function createOpenAIUpstreamRuntime(
  options: OpenAIUpstreamRuntimeOptions,
): Promise<LanguageModelRuntime> {
  const baseUrl = `${options.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  let listed: z.infer<typeof modelListSchema>;
  try {
    const response = await fetch(`${baseUrl}/models`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`GET /v1/models answered ${response.status}`);
    listed = modelListSchema.parse(await response.json());
  } catch (error) {
    throw new HelexaError(
      "upstream_error",
      `could not list the models of ${baseUrl}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const models: RuntimeModel[] = listed.data
    .filter((model) => !options.models || options.models.includes(model.id))
    .map((model) => ({
      id: model.id,
      contextLength: model.max_model_len ?? model.meta?.n_ctx_train ?? options.defaultContextLength ?? 4096,
    }));
  if (models.length === 0)
    throw new HelexaError("upstream_error", `${baseUrl} serves none of the models asked for`);

  async function* doStream({ request, abortSignal }: StreamOptions): AsyncIterable<StreamPart> {
    if (!models.some((model) => model.id === request.model)) {
      yield {
        type: "error",
        error: new HelexaError("model_not_found", `${request.model} is not served here`),
      };
      return;
    }
    if (request.resume) {
      // An OpenAI-compatible API takes text, not token ids: it cannot go on exactly where another left off.
      yield {
        type: "error",
        error: new HelexaError("invalid_request", "an upstream engine cannot take over a job from token ids"),
      };
      return;
    }
    let usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let finishReason: FinishReason = "stop";
    let response: Response;
    try {
      response = await fetch(
        `${baseUrl}/${request.input.kind === "chat" ? "chat/completions" : "completions"}`,
        {
          method: "POST",
          headers,
          body: JSON.stringify(toUpstreamBody(request)),
          ...(abortSignal ? { signal: abortSignal } : {}),
        },
      );
    } catch (error) {
      if (abortSignal?.aborted) {
        yield { type: "finish", finishReason: "cancelled", usage };
        return;
      }
      yield {
        type: "error",
        error: new HelexaError(
          "upstream_error",
          `the upstream engine is unreachable: ${(error as Error).message}`,
        ),
      };
      return;
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => "");
      const code =
        response.status === 404
          ? "model_not_found"
          : response.status === 400
            ? "invalid_request"
            : "upstream_error";
      yield {
        type: "error",
        error: new HelexaError(
          code,
          `the upstream engine answered ${response.status}: ${text.slice(0, 300)}`,
        ),
      };
      return;
    }
    let chunks = 0;
    let reportedUsage = false;
    try {
      for await (const data of serverSentEvents(response.body)) {
        if (data === "[DONE]") break;
        const json: unknown = JSON.parse(data);
        const failure = errorEventSchema.safeParse(json);
        if (failure.success) {
          yield { type: "error", error: new HelexaError("upstream_error", failure.data.error.message) };
          return;
        }
        const chunk =
          request.input.kind === "chat"
            ? chatCompletionChunkSchema.parse(json)
            : completionChunkSchema.parse(json);
        if (chunk.usage) {
          usage = {
            promptTokens: chunk.usage.prompt_tokens,
            completionTokens: chunk.usage.completion_tokens,
          };
          reportedUsage = true;
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const text = "delta" in choice ? (choice.delta.content ?? "") : choice.text;
        if (choice.finish_reason) finishReason = choice.finish_reason === "length" ? "length" : "stop";
        if (text) {
          chunks += 1;
          yield { type: "text-delta", text };
        }
      }
    } catch (error) {
      if (abortSignal?.aborted) {
        yield {
          type: "finish",
          finishReason: "cancelled",
          usage: reportedUsage ? usage : { ...usage, completionTokens: chunks },
        };
        return;
      }
      yield {
        type: "error",
        error: new HelexaError("upstream_error", `the upstream stream broke: ${(error as Error).message}`),
      };
      return;
    }
    // An engine that does not report usage is counted a token per chunk, which is what most engines send.
    if (!reportedUsage) usage = { promptTokens: 0, completionTokens: chunks };
    yield { type: "finish", finishReason: abortSignal?.aborted ? "cancelled" : finishReason, usage };
  }

  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "openai-upstream",
    engine: `openai-compatible ${baseUrl}`,
    slots: options.slots ?? 4,
    models: () => models,
    doStream,
    doGenerate: (streamOptions) => generateFromStream(runtime, streamOptions),
    async [Symbol.asyncDispose]() {},
  };
  return runtime;
}

function toUpstreamBody(request: GenerationRequest): Record<string, unknown> {
  const { sampling } = request;
  const body: Record<string, unknown> = {
    model: request.model,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.input.kind === "chat") body.messages = request.input.messages;
  else body.prompt = request.input.prompt;
  if (sampling.maxTokens !== undefined) body.max_tokens = sampling.maxTokens;
  if (sampling.temperature !== undefined) body.temperature = sampling.temperature;
  if (sampling.topP !== undefined) body.top_p = sampling.topP;
  if (sampling.seed !== undefined) body.seed = sampling.seed;
  if (sampling.stop !== undefined) body.stop = sampling.stop;
  return body;
}

/** The data lines of a server-sent event stream, decoded as UTF-8 across chunk boundaries. */
async function* serverSentEvents(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, "\n");
    let boundary = buffer.indexOf("\n\n");
    while (boundary !== -1) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) yield data;
      boundary = buffer.indexOf("\n\n");
    }
  }
}

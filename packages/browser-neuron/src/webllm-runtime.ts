// SPDX-License-Identifier: PolyForm-Shield-1.0
// The WebLLM runtime: a model's MLC build on the tab's WebGPU adapter, its files fetched from cortex's URLs.

import { type FinishReason, type GenerationRequest, HelexaError, type Usage } from "@helexa/protocol";
import {
  generateFromStream,
  type LanguageModelRuntime,
  type ProgressEvent,
  RUNTIME_SPECIFICATION_VERSION,
  type StreamOptions,
  type StreamPart,
} from "@helexa/runtime";
import type { MlcBuild } from "./engine-messages.js";
import { GenerationGate } from "./generation-gate.js";

export interface WebLlmRuntimeOptions {
  model: { id: string; contextLength?: number; mlc: MlcBuild };
  onProgress?: (event: ProgressEvent) => void;
}

const DEFAULT_CONTEXT_CAP = 4096;

/**
 * The part of @mlc-ai/web-llm 0.2.86 used here. Its declaration files import without file extensions, which
 * NodeNext resolution cannot follow, so its own types arrive as `any`; these keep the calls checked.
 */
export interface WebLlmAppConfig {
  model_list: Array<{
    model: string;
    model_id: string;
    model_lib: string;
    required_features?: string[];
    overrides?: { context_window_size?: number };
    vram_required_MB?: number;
  }>;
  cacheBackend?: "cache" | "indexeddb" | "opfs";
}
interface WebLlmRequest {
  stream: true;
  stream_options: { include_usage: boolean };
  temperature: number;
  top_p: number;
  seed?: number;
  max_tokens?: number;
  stop?: string[];
}
interface WebLlmEngine {
  reload(modelId: string): Promise<void>;
  unload(): Promise<void>;
  interruptGenerate(): Promise<void>;
  getGPUVendor(): Promise<string>;
  chat: {
    completions: {
      create(
        request: WebLlmRequest & {
          messages: Array<{ role: "system" | "user" | "assistant"; content: string }>;
        },
      ): Promise<AsyncIterable<WebLlmChunk>>;
    };
  };
  completions: { create(request: WebLlmRequest & { prompt: string }): Promise<AsyncIterable<WebLlmChunk>> };
}
interface WebLlmModule {
  MLCEngine: new (config: {
    appConfig: WebLlmAppConfig;
    logLevel?: "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";
    initProgressCallback?: (report: { progress: number; text: string; timeElapsed: number }) => void;
  }) => WebLlmEngine;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** WebLLM's app config for one model, every URL pointing at what cortex serves, nothing at WebLLM's own hosts. */
export function webLlmAppConfig(model: WebLlmRuntimeOptions["model"]): WebLlmAppConfig {
  const contextLength = Math.min(model.contextLength ?? DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP);
  return {
    model_list: [
      {
        model: model.mlc.modelUrl,
        model_id: model.id,
        model_lib: model.mlc.modelLibraryUrl,
        required_features: model.mlc.requiredFeatures,
        overrides: { context_window_size: contextLength },
        ...(model.mlc.gpuMemoryBytes === undefined
          ? {}
          : { vram_required_MB: Math.ceil(model.mlc.gpuMemoryBytes / 1024 / 1024) }),
      },
    ],
    cacheBackend: "cache",
  };
}

/** WebLLM's load failures: a GPU that cannot run the build, or files that are missing or wrong. */
function loadError(modelId: string, error: unknown): HelexaError {
  const name = error instanceof Error ? error.name : "";
  const code = /FeatureSupport|ShaderF16|WebGPUNotAvailable|DeviceLost/.test(name)
    ? "no_capacity"
    : "model_invalid";
  return new HelexaError(code, `WebLLM could not load model ${modelId}: ${messageOf(error)}`, {
    cause: error,
  });
}

interface WebLlmChunk {
  choices: Array<{ delta?: { content?: string | null }; text?: string; finish_reason?: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/**
 * Loads the MLC build with WebLLM (its files cached by WebLLM in Cache Storage) and serves one generation at
 * a time. Usage comes with the finish only: WebLLM reports it at the end of a stream, so deltas carry none.
 * Token ids and `request.resume` are not supported. Seeds are passed on but WebLLM's GPU sampling does not
 * promise to repeat.
 */
export async function createWebLlmRuntime(options: WebLlmRuntimeOptions): Promise<LanguageModelRuntime> {
  const { model } = options;
  // Loaded only when a tab uses WebLLM: the library is several megabytes.
  const webllm = (await import("@mlc-ai/web-llm")) as unknown as WebLlmModule;
  const engine = new webllm.MLCEngine({
    appConfig: webLlmAppConfig(model),
    logLevel: "WARN",
    initProgressCallback: (report) =>
      options.onProgress?.({
        phase: /fetch|download|param cache/i.test(report.text) ? "download" : "load",
        label: `${model.id}: ${report.text}`,
        fraction: Math.min(1, Math.max(0, report.progress)),
      }),
  });
  try {
    await engine.reload(model.id);
  } catch (error) {
    await engine.unload().catch(() => {});
    throw loadError(model.id, error);
  }
  const contextLength = Math.min(model.contextLength ?? DEFAULT_CONTEXT_CAP, DEFAULT_CONTEXT_CAP);
  const gpuVendor = await engine.getGPUVendor().catch(() => "");
  const gate = new GenerationGate();
  let disposed = false;

  function body(request: GenerationRequest) {
    const { temperature = 1, topP = 1, seed, maxTokens, stop } = request.sampling;
    return {
      stream: true as const,
      stream_options: { include_usage: true },
      temperature,
      top_p: topP,
      ...(seed === undefined ? {} : { seed }),
      ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
      ...(stop === undefined ? {} : { stop }),
    };
  }

  async function* doStream({ request, abortSignal }: StreamOptions): AsyncIterable<StreamPart> {
    if (request.model !== model.id) {
      yield {
        type: "error",
        error: new HelexaError("model_not_found", `model ${request.model} is not loaded here`, {
          param: "model",
        }),
      };
      return;
    }
    if (disposed) {
      yield { type: "error", error: new HelexaError("no_capacity", "the WebLLM runtime has been shut down") };
      return;
    }
    if (request.resume) {
      yield {
        type: "error",
        error: new HelexaError("invalid_request", "a browser neuron cannot resume a job from its tokens", {
          param: "resume",
        }),
      };
      return;
    }
    let usage: Usage = { promptTokens: 0, completionTokens: 0 };
    try {
      await gate.enter(abortSignal);
    } catch (error) {
      if (abortSignal?.aborted) yield { type: "finish", finishReason: "cancelled", usage };
      else
        yield {
          type: "error",
          error: HelexaError.is(error) ? error : new HelexaError("internal", messageOf(error)),
        };
      return;
    }
    const onAbort = () => void engine.interruptGenerate();
    abortSignal?.addEventListener("abort", onAbort, { once: true });
    let ended = false;
    try {
      const input = request.input;
      const stream =
        input.kind === "chat"
          ? await engine.chat.completions.create({
              ...body(request),
              messages: input.messages.map((message) => ({
                role: message.role === "developer" ? "system" : message.role,
                content: message.content,
              })),
            })
          : await engine.completions.create({ ...body(request), prompt: input.prompt });
      let finishReason: FinishReason | null = null;
      for await (const chunk of stream) {
        if (chunk.usage) {
          usage = {
            promptTokens: chunk.usage.prompt_tokens,
            completionTokens: chunk.usage.completion_tokens,
          };
        }
        const choice = chunk.choices[0];
        const text = choice?.delta?.content ?? choice?.text ?? "";
        if (choice?.finish_reason) finishReason = choice.finish_reason === "length" ? "length" : "stop";
        if (text.length > 0) yield { type: "text-delta", text };
      }
      ended = true;
      yield {
        type: "finish",
        finishReason: abortSignal?.aborted ? "cancelled" : (finishReason ?? "stop"),
        usage,
      };
    } catch (error) {
      if (abortSignal?.aborted) yield { type: "finish", finishReason: "cancelled", usage };
      else
        yield {
          type: "error",
          error: new HelexaError(
            /must|invalid|not supported|exceed/i.test(messageOf(error)) ? "invalid_request" : "internal",
            `WebLLM: ${messageOf(error)}`,
            { cause: error },
          ),
        };
    } finally {
      abortSignal?.removeEventListener("abort", onAbort);
      // A consumer that stops reading stops the generation too.
      if (!ended) await engine.interruptGenerate().catch(() => {});
      gate.leave();
    }
  }

  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "webllm",
    engine: `WebLLM WebGPU${gpuVendor ? ` ${gpuVendor}` : ""}`,
    slots: 1,
    models: () => [{ id: model.id, contextLength }],
    doStream,
    doGenerate: (streamOptions) => generateFromStream(runtime, streamOptions),
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      gate.close(new HelexaError("no_capacity", "the WebLLM runtime has been shut down"));
      await engine.unload().catch(() => {});
    },
  };
  return runtime;
}

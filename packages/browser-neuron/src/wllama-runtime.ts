// SPDX-License-Identifier: PolyForm-Shield-1.0
// The wllama runtime: llama.cpp compiled to WebAssembly, serving a GGUF model from browser storage on the CPU.

import { type FinishReason, type GenerationRequest, HelexaError, type Usage } from "@helexa/protocol";
import {
  generateFromStream,
  type LanguageModelRuntime,
  type ProgressEvent,
  RUNTIME_SPECIFICATION_VERSION,
  type StreamOptions,
  type StreamPart,
} from "@helexa/runtime";
import {
  type ChatCompletionChunk,
  type ChatCompletionParams,
  type RawCompletionChunk,
  type RawCompletionParams,
  type StreamParams,
  Wllama,
  WllamaAbortError,
  WllamaRuntimeError,
} from "@wllama/wllama";
import { z } from "zod";
import { GenerationGate } from "./generation-gate.js";
import { PushQueue } from "./push-queue.js";

export interface WllamaRuntimeOptions {
  model: { id: string; contextLength?: number };
  /** The GGUF file, from the model store. */
  file: Blob;
  /** Where wllama.wasm is served; the build puts it next to the bundles. */
  wasmUrl: string;
  /** CPU threads; see defaultWllamaThreads. More than 1 needs a cross-origin isolated page. */
  threads?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Where wllama's and llama.cpp's warnings and errors go; dropped by default. */
  onLog?: (level: "warn" | "error", message: string) => void;
}

/** Engine-specific sampling, through StreamOptions.providerOptions: the same knobs as the native runtime. */
const providerOptionsSchema = z
  .object({
    /** 0 considers the whole vocabulary; 40 by default, as llama-server does. */
    topK: z.int().nonnegative().optional(),
    minP: z.number().min(0).max(1).optional(),
  })
  .loose();

/** The most tokens of context unless the catalog says fewer: the KV cache lives in the tab's memory. */
const DEFAULT_CONTEXT_CAP = 4096;
const DEFAULT_CONTEXT = 2048;

/**
 * Threads need SharedArrayBuffer, which only a cross-origin isolated page (COOP and COEP headers) has. On
 * two cores one thread is faster: the second would fight the page and the browser for the other core.
 */
export function defaultWllamaThreads(): number {
  const isolated = typeof crossOriginIsolated !== "undefined" && crossOriginIsolated;
  const cores = typeof navigator === "undefined" ? 1 : navigator.hardwareConcurrency || 1;
  if (!isolated || cores <= 2) return 1;
  return Math.min(8, Math.floor(cores / 2));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** wllama reads the model in slices as llama.cpp loads it: how far it has read is how far the load has come. */
class ProgressBlob extends Blob {
  private furthest = 0;

  constructor(
    file: Blob,
    private readonly onRead: (fraction: number) => void,
  ) {
    super([file], { type: file.type });
  }

  override slice(start?: number, end?: number, contentType?: string): Blob {
    const stop = Math.min(end ?? this.size, this.size);
    if (stop > this.furthest && this.size > 0) {
      this.furthest = stop;
      this.onRead(stop / this.size);
    }
    return super.slice(start, end, contentType);
  }
}

/** Everything a completion asks of llama-server's request schema, which wllama passes through. */
function requestBody(request: GenerationRequest, extra: z.infer<typeof providerOptionsSchema>) {
  const { temperature = 1, topP = 1, seed, maxTokens, stop } = request.sampling;
  return {
    stream: true as const,
    temperature,
    top_p: topP,
    top_k: extra.topK ?? 40,
    min_p: extra.minP ?? 0,
    // llama-server's other samplers, set to do nothing, so that greedy is greedy whatever its defaults.
    repeat_penalty: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    dry_multiplier: 0,
    typical_p: 1,
    xtc_probability: 0,
    ...(seed === undefined ? {} : { seed: seed >>> 0 }),
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(stop === undefined ? {} : { stop }),
    // A cached prefix is evaluated in other batch shapes, which can change greedy results; every request starts clean.
    cache_prompt: false,
    // Each chunk then says how many tokens were evaluated and generated so far.
    timings_per_token: true,
  };
}

/** The chunk fields this runtime reads, from both the chat and the text completion streams. */
interface CompletionChunk {
  choices?: Array<{
    delta?: { content?: string | null };
    text?: string;
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  timings?: { prompt_n: number; cache_n: number; predicted_n: number };
}

/** llama-server's refusals of a request, told apart from failures of the engine by their wording. */
function toHelexaError(error: unknown, request: GenerationRequest): HelexaError {
  const message = messageOf(error);
  if (/context|exceed|empty|too long|invalid/i.test(message) && !(error instanceof WllamaRuntimeError)) {
    return new HelexaError("invalid_request", message, {
      param: request.input.kind === "chat" ? "messages" : "prompt",
      cause: error,
    });
  }
  return new HelexaError("internal", `wllama failed: ${message}`, { cause: error });
}

/**
 * Loads the GGUF file into wllama (CPU only: the GPU path is WebLLM's) and serves one generation at a time.
 * The chat template is the model's own, applied by wllama's llama-server core. Usage is exact: llama-server
 * counts every prompt token, template included, and every sampled token, the end-of-turn one included.
 * Streamed text never splits a UTF-8 character (llama-server holds back a character's first bytes until it
 * is whole) and never contains a stop string.
 *
 * Not supported: `request.resume` (refused as invalid_request) and token ids on deltas. wllama 3 has no
 * tokenizer API, and its only way to report token ids (n_probs) fails on a token that holds part of a UTF-8
 * character, which real models emit.
 */
export async function createWllamaRuntime(options: WllamaRuntimeOptions): Promise<LanguageModelRuntime> {
  const { model } = options;
  const threads = options.threads ?? defaultWllamaThreads();
  const onLog = options.onLog ?? (() => {});
  const log =
    (level: "warn" | "error") =>
    (...parts: unknown[]) =>
      onLog(level, parts.map(String).join(" "));
  const requestedContext = Math.min(model.contextLength ?? DEFAULT_CONTEXT, DEFAULT_CONTEXT_CAP);

  /** A fresh wllama (its own worker and WebAssembly memory) with the model loaded. */
  async function startWllama(reportProgress: boolean): Promise<Wllama> {
    const instance = new Wllama(
      { default: options.wasmUrl },
      { logger: { debug: () => {}, log: () => {}, warn: log("warn"), error: log("error") } },
    );
    // Never fetch wllama's Safari compatibility build from its CDN: the tab uses only what helexa serves.
    instance.setCompat(null);
    const file = reportProgress
      ? new ProgressBlob(options.file, (fraction) =>
          options.onProgress?.({ phase: "load", label: model.id, fraction: Math.min(0.99, fraction) }),
        )
      : options.file;
    try {
      await instance.loadModel([file], {
        n_ctx: requestedContext,
        n_threads: threads,
        n_gpu_layers: 0,
        n_parallel: 1,
        ctx_shift: false,
        // An assistant message last in a chat is a finished turn, as in the native runtime, not a prefix to continue.
        prefill_assistant: false,
      });
    } catch (error) {
      await instance.exit().catch(() => {});
      throw new HelexaError("model_invalid", `wllama could not load model ${model.id}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    return instance;
  }

  options.onProgress?.({ phase: "load", label: model.id, fraction: 0 });
  let wllama = await startWllama(true);
  options.onProgress?.({ phase: "load", label: model.id, fraction: 1 });

  const contextLength = wllama.getLoadedContextInfo().n_ctx;
  // Fewer than asked when the page is not cross-origin isolated: wllama then runs one thread.
  const threadsInUse = wllama.getNumThreads();
  const gate = new GenerationGate();
  let disposed = false;
  /** Set when wllama failed and could not be started again: the tab must load the model again. */
  let crashed: string | null = null;

  /**
   * llama-server's JSON encoder throws on a text completion holding invalid UTF-8 (a lone continuation byte
   * from a model), and wllama's WebAssembly side is unusable after that. The model is still in memory as a
   * Blob, so a fresh wllama takes it up again before the next generation starts.
   */
  async function restart(reason: string): Promise<void> {
    const broken = wllama;
    await broken.exit().catch(() => {});
    try {
      wllama = await startWllama(false);
      onLog("warn", `wllama failed (${reason}) and was started again`);
    } catch (error) {
      crashed = `${reason}; starting it again failed: ${messageOf(error)}`;
    }
  }

  async function* doStream({
    request,
    abortSignal,
    providerOptions,
  }: StreamOptions): AsyncIterable<StreamPart> {
    if (request.model !== model.id) {
      yield {
        type: "error",
        error: new HelexaError("model_not_found", `model ${request.model} is not loaded here`, {
          param: "model",
        }),
      };
      return;
    }
    if (disposed || crashed) {
      yield {
        type: "error",
        error: new HelexaError(
          "no_capacity",
          crashed
            ? `wllama stopped working (${crashed}); load the model again`
            : "the wllama runtime has been shut down",
        ),
      };
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
    const extra = providerOptionsSchema.safeParse(providerOptions ?? {});
    if (!extra.success) {
      yield {
        type: "error",
        error: new HelexaError("invalid_request", `providerOptions: ${extra.error.message}`),
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

    // wllama's own signal: aborted by the caller's, or when the consumer stops reading this stream.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    abortSignal?.addEventListener("abort", onAbort, { once: true });
    if (abortSignal?.aborted) controller.abort();
    const chunks = new PushQueue<CompletionChunk>();
    const body = { ...requestBody(request, extra.data), abortSignal: controller.signal };
    const onData = (chunk: CompletionChunk) => chunks.push(chunk);
    let running: Promise<void>;
    // llama-server reads more fields than wllama's types list (stop, stream_options, the samplers): passed as they are.
    if (request.input.kind === "chat") {
      const messages = request.input.messages.map((message) => ({
        // A developer message is OpenAI's newer name for a system message.
        role: message.role === "developer" ? ("system" as const) : message.role,
        content: message.content,
      }));
      const params = { ...body, messages, stream_options: { include_usage: true }, onData };
      running = wllama.createChatCompletion(
        params as unknown as ChatCompletionParams & StreamParams<ChatCompletionChunk>,
      );
    } else {
      const params = { ...body, prompt: request.input.prompt, onData };
      running = wllama.createCompletion(
        params as unknown as RawCompletionParams & StreamParams<RawCompletionChunk>,
      );
    }
    running.then(
      () => chunks.end(),
      (error) => chunks.fail(error),
    );

    /** Set when wllama's WebAssembly side failed during this generation. */
    let failure: string | null = null;
    try {
      let finishReason: FinishReason | null = null;
      for await (const chunk of chunks) {
        if (chunk.timings) {
          usage = {
            promptTokens: chunk.timings.prompt_n + chunk.timings.cache_n,
            completionTokens: chunk.timings.predicted_n,
          };
        }
        if (chunk.usage) {
          usage = {
            promptTokens: chunk.usage.prompt_tokens,
            completionTokens: chunk.usage.completion_tokens,
          };
        }
        const choice = chunk.choices?.[0];
        const text = choice?.delta?.content ?? choice?.text ?? "";
        if (choice?.finish_reason) finishReason = choice.finish_reason === "length" ? "length" : "stop";
        if (text.length > 0) yield { type: "text-delta", text, usage };
      }
      yield { type: "finish", finishReason: finishReason ?? "stop", usage };
    } catch (error) {
      if (error instanceof WllamaRuntimeError) failure = messageOf(error);
      if (abortSignal?.aborted || error instanceof WllamaAbortError) {
        yield { type: "finish", finishReason: "cancelled", usage };
      } else {
        yield { type: "error", error: toHelexaError(error, request) };
      }
    } finally {
      abortSignal?.removeEventListener("abort", onAbort);
      // Stops a generation nobody reads any more and waits until wllama has given its slot back.
      controller.abort();
      await running.catch(() => {});
      // The next generation waits at the gate until wllama runs again.
      if (failure !== null && !disposed) await restart(failure);
      gate.leave();
    }
  }

  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "wllama",
    engine: `wllama (llama.cpp ${Wllama.getLibllamaVersion()}) WebAssembly, ${threadsInUse} thread${threadsInUse === 1 ? "" : "s"}`,
    slots: 1,
    models: () => [{ id: model.id, contextLength }],
    doStream,
    doGenerate: (streamOptions) => generateFromStream(runtime, streamOptions),
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      gate.close(new HelexaError("no_capacity", "the wllama runtime has been shut down"));
      await wllama.exit().catch(() => {});
    },
  };
  return runtime;
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The node-llama-cpp runtime: checks and loads GGUF models, then streams generations on a fixed set of sequences.

import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { readGgufHeader, validateLlamaModelHeader } from "@helexa/gguf";
import { type FinishReason, type GenerationRequest, HelexaError, type Usage } from "@helexa/protocol";
import {
  type ChatHistoryItem,
  type ChatWrapper,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  LlamaLogLevel,
  type LlamaModel,
  type LlamaText,
  resolveChatWrapper,
  SpecialToken,
  SpecialTokensText,
  type Token,
} from "node-llama-cpp";
import { z } from "zod";
import {
  generateFromStream,
  type LanguageModelRuntime,
  type LoadModelOptions,
  type ProgressEvent,
  RUNTIME_SPECIFICATION_VERSION,
  type RuntimeModel,
  type StreamOptions,
  type StreamPart,
} from "../runtime.js";
import { TokenAlignedText } from "../token-aligned-text.js";
import { SlotPool } from "./slot-pool.js";
import { StopSequenceFilter } from "./stop-sequence-filter.js";
import { TokenTextDecoder } from "./token-text-decoder.js";

export interface LlamaCppModelOptions {
  id: string;
  path: string;
  /** Tokens each sequence holds; defaults to the model's training context, at most 8192. */
  contextLength?: number;
}

export interface LlamaCppRuntimeOptions {
  models: LlamaCppModelOptions[];
  /**
   * CPU threads per evaluation; defaults to every available core. Set explicitly because node-llama-cpp's own
   * default of 4 ran about 100 times slower on a 2-core machine.
   */
  threads?: number;
  /** Which backend; "auto" picks the best prebuilt one and falls back to the CPU. Nothing is ever built. */
  gpu?: "auto" | "cuda" | "vulkan" | "metal" | false;
  /** Generations that may run at once, across all models; each model gets this many sequences. */
  slots?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Where llama.cpp's warnings and errors go; console.warn by default. */
  onLog?: (level: "warn" | "error", message: string) => void;
}

/** Engine-specific sampling, through StreamOptions.providerOptions. */
const providerOptionsSchema = z
  .object({
    /** 0 considers the whole vocabulary (OpenAI's behaviour); 40 by default, as llama-server does. */
    topK: z.int().nonnegative().optional(),
    minP: z.number().min(0).max(1).optional(),
  })
  .loose();

/** The most tokens of context a model gets unless its options say otherwise: memory grows with it per slot. */
const DEFAULT_CONTEXT_CAP = 8192;
/** Kept to explain a load failure: llama.cpp says why only in its log. */
const REMEMBERED_LOG_LINES = 20;

interface LoadedModel {
  id: string;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
  sequences: SlotPool<LlamaContextSequence>;
}

interface PreparedPrompt {
  tokens: Token[];
  /** Tokens that end generation besides the model's end-of-generation tokens (the template's turn end). */
  stopTokens: Set<Token>;
  /** Texts that end generation without being sent: the template's own, then the request's. */
  stopTexts: string[];
}

function nodeLlamaCppVersion(): string {
  try {
    const entry = new URL(import.meta.resolve("node-llama-cpp"));
    const packageJson = JSON.parse(readFileSync(new URL("../package.json", entry), "utf8")) as {
      version?: string;
    };
    return packageJson.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads and checks the header first: some malformed files abort the whole process inside llama.cpp. */
async function checkModelFile(options: LlamaCppModelOptions): Promise<number> {
  let header: Awaited<ReturnType<typeof readGgufHeader>>;
  try {
    header = await readGgufHeader(options.path);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "the file does not exist" : messageOf(error);
    throw new HelexaError(
      "model_invalid",
      `model ${options.id} (${options.path}) cannot be read: ${reason}`,
      {
        cause: error,
      },
    );
  }
  try {
    validateLlamaModelHeader(header);
  } catch (error) {
    throw new HelexaError(
      "model_invalid",
      `model ${options.id} (${options.path}) is not loadable: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  const architecture = header.metadata.get("general.architecture")?.value;
  const trainContext = header.metadata.get(`${architecture}.context_length`)?.value;
  return typeof trainContext === "number" ? trainContext : DEFAULT_CONTEXT_CAP;
}

/**
 * llama.cpp says why a load failed only in its log, and the line can arrive just after the load's promise
 * rejects; waits briefly for it.
 */
async function loadFailureReason(log: readonly string[]): Promise<string | null> {
  for (let waited = 0; waited <= 500; waited += 25) {
    for (const line of log) {
      const match = /error loading model: (.*)$/.exec(line);
      if (match?.[1]) return match[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return null;
}

function toChatHistory(messages: Extract<GenerationRequest["input"], { kind: "chat" }>["messages"]) {
  const history: ChatHistoryItem[] = messages.map((message) => {
    if (message.role === "assistant") return { type: "model", response: [message.content] };
    if (message.role === "user") return { type: "user", text: message.content };
    // A developer message is OpenAI's newer name for a system message.
    return { type: "system", text: message.content };
  });
  history.push({ type: "model", response: [] });
  return history;
}

function isSpecialOnly(text: LlamaText): boolean {
  return text.values.every((value) => value instanceof SpecialToken || value instanceof SpecialTokensText);
}

function preparePrompt(loaded: LoadedModel, request: GenerationRequest): PreparedPrompt {
  const { model } = loaded;
  const stopTokens = new Set<Token>();
  const stopTexts: string[] = [];
  let tokens: Token[];
  if (request.input.kind === "chat") {
    // Message contents are plain text here, so "<|im_end|>" typed by a user can never become a control token.
    const state = loaded.chatWrapper.generateContextState({
      chatHistory: toChatHistory(request.input.messages),
    });
    tokens = state.contextText.tokenize(model.tokenizer);
    // The wrapper always opens with BOS; the model's own add_bos_token flag decides, as its template does.
    if (!model.tokens.shouldPrependBosToken && tokens[0] !== undefined && tokens[0] === model.tokens.bos) {
      tokens.shift();
    }
    for (const trigger of state.stopGenerationTriggers) {
      if (isSpecialOnly(trigger)) {
        const triggerTokens = trigger.tokenize(model.tokenizer);
        if (triggerTokens.length === 1) stopTokens.add(triggerTokens[0]!);
      } else if (trigger.values.every((value) => typeof value === "string")) {
        stopTexts.push(trigger.toString());
      }
    }
  } else {
    // Special tokens in a completion prompt are honoured, as llama-server does: callers template by hand.
    tokens = model.tokenize(request.input.prompt, true);
    const bos = model.tokens.bos;
    if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens.unshift(bos);
    if (tokens.length === 0 && bos !== null) tokens.push(bos);
  }
  stopTexts.push(...(request.sampling.stop ?? []));
  return { tokens, stopTokens, stopTexts };
}

/**
 * Evaluates the prompt, and the tokens of a job taken over from another neuron, in the batch shapes the first
 * neuron used: the prompt in one batch, then each generated token alone. Other shapes can change
 * floating-point results, and with them the greedy continuation. Returns what `evaluate` starts from.
 */
async function evaluateResumedTokens(
  sequence: LlamaContextSequence,
  prompt: Token[],
  resumed: Token[],
): Promise<Token[]> {
  if (resumed.length === 0) return prompt;
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  for (const token of resumed.slice(0, -1)) await sequence.evaluateWithoutGeneratingNewTokens([token]);
  return resumed.slice(-1);
}

/**
 * Loads every model (checking each file's header first), then serves generations. Usage is exact:
 * promptTokens counts every token evaluated as the prompt, template and BOS included; completionTokens
 * counts every token sampled, including the end-of-generation token that ends a turn, as llama-server
 * does (it was computed like any other). A stop string's text is never sent.
 */
export async function createLlamaCppRuntime(options: LlamaCppRuntimeOptions): Promise<LanguageModelRuntime> {
  // No model at all is allowed: a neuron that cortex provisions starts empty and calls loadModel.
  const ids = new Set(options.models.map((model) => model.id));
  if (ids.size !== options.models.length)
    throw new HelexaError("invalid_request", "model ids must be unique");
  const threads = options.threads ?? availableParallelism();
  const slots = options.slots ?? 1;
  if (!Number.isInteger(threads) || threads < 1)
    throw new HelexaError("invalid_request", "threads must be 1 or more");
  if (!Number.isInteger(slots) || slots < 1)
    throw new HelexaError("invalid_request", "slots must be 1 or more");

  const trainContexts = new Map<string, number>();
  for (const model of options.models) trainContexts.set(model.id, await checkModelFile(model));

  const recentLog: string[] = [];
  const onLog = options.onLog ?? ((_level, message) => console.warn(`[node-llama-cpp] ${message}`));
  const llama: Llama = await getLlama({
    build: "never",
    gpu: options.gpu ?? "auto",
    maxThreads: threads,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      recentLog.push(message.trim());
      if (recentLog.length > REMEMBERED_LOG_LINES) recentLog.shift();
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) onLog("error", message.trim());
      else if (level === LlamaLogLevel.warn) onLog("warn", message.trim());
    },
  });

  const loaded = new Map<string, LoadedModel>();
  /** Each loaded model's file size, which a neuron counts against its memory budget. */
  const fileSizes = new Map<string, number>();

  /** Loads one checked model file and gives it its context and sequences. */
  async function loadEntry(
    modelOptions: LlamaCppModelOptions,
    trainContext: number,
    onProgress: ((event: ProgressEvent) => void) | undefined,
  ): Promise<LoadedModel> {
    recentLog.length = 0;
    const sizeBytes = (await stat(modelOptions.path)).size;
    let model: LlamaModel;
    try {
      model = await llama.loadModel({
        modelPath: modelOptions.path,
        onLoadProgress: (fraction) =>
          onProgress?.({
            phase: "load",
            label: modelOptions.id,
            fraction: Math.min(1, Math.max(0, fraction)),
            bytes: { done: Math.round(sizeBytes * Math.min(1, Math.max(0, fraction))), total: sizeBytes },
          }),
      });
    } catch (error) {
      const detail = await loadFailureReason(recentLog);
      throw new HelexaError(
        "model_invalid",
        `llama.cpp could not load model ${modelOptions.id} (${modelOptions.path}): ${detail ?? messageOf(error)}`,
        { cause: error },
      );
    }
    try {
      const contextLength = modelOptions.contextLength ?? Math.min(trainContext, DEFAULT_CONTEXT_CAP);
      const context = await model.createContext({
        contextSize: contextLength,
        sequences: slots,
        threads,
      });
      const sequences = Array.from({ length: slots }, () => context.getSequence());
      fileSizes.set(modelOptions.id, sizeBytes);
      return {
        id: modelOptions.id,
        model,
        context,
        chatWrapper: resolveChatWrapper(model),
        sequences: new SlotPool(sequences),
      };
    } catch (error) {
      await model.dispose().catch(() => {});
      throw new HelexaError(
        "model_invalid",
        `llama.cpp could not make a context for model ${modelOptions.id}: ${messageOf(error)}`,
        { cause: error },
      );
    }
  }

  try {
    for (const modelOptions of options.models) {
      const trainContext = trainContexts.get(modelOptions.id) ?? DEFAULT_CONTEXT_CAP;
      loaded.set(modelOptions.id, await loadEntry(modelOptions, trainContext, options.onProgress));
    }
  } catch (error) {
    await llama.dispose();
    throw error;
  }

  const generations = new SlotPool(Array.from({ length: slots }, (_, index) => index));
  const describeModel = (entry: LoadedModel): RuntimeModel => {
    const sizeBytes = fileSizes.get(entry.id);
    return {
      id: entry.id,
      contextLength: entry.context.contextSize,
      ...(sizeBytes === undefined ? {} : { sizeBytes }),
    };
  };
  let disposed = false;

  async function* doStream({
    request,
    abortSignal,
    providerOptions,
  }: StreamOptions): AsyncIterable<StreamPart> {
    const entry = loaded.get(request.model);
    if (!entry) {
      yield {
        type: "error",
        error: new HelexaError("model_not_found", `model ${request.model} is not loaded here`, {
          param: "model",
        }),
      };
      return;
    }
    if (disposed) {
      yield {
        type: "error",
        error: new HelexaError("no_capacity", "the llama-cpp runtime has been shut down"),
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

    let prompt: PreparedPrompt;
    try {
      prompt = preparePrompt(entry, request);
    } catch (error) {
      yield {
        type: "error",
        error: new HelexaError("internal", `could not format the prompt: ${messageOf(error)}`),
      };
      return;
    }
    const contextSize = entry.context.contextSize;
    const resumed = (request.resume?.tokens ?? []) as Token[];
    if (prompt.tokens.length === 0 || prompt.tokens.length + resumed.length >= contextSize) {
      yield {
        type: "error",
        error: new HelexaError(
          "invalid_request",
          prompt.tokens.length === 0
            ? "the prompt is empty"
            : `the prompt is ${prompt.tokens.length} tokens; model ${entry.id} holds ${contextSize} tokens in all`,
          { param: request.input.kind === "chat" ? "messages" : "prompt" },
        ),
      };
      return;
    }

    let usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let generation: number;
    let sequence: LlamaContextSequence;
    try {
      generation = await generations.acquire(abortSignal);
      sequence = await entry.sequences.acquire();
    } catch (error) {
      if (abortSignal?.aborted) yield { type: "finish", finishReason: "cancelled", usage };
      else
        yield {
          type: "error",
          error: HelexaError.is(error) ? error : new HelexaError("internal", messageOf(error)),
        };
      return;
    }

    const aborted = Symbol("aborted");
    let onAbort = () => {};
    const abortPromise = new Promise<typeof aborted>((resolve) => {
      onAbort = () => resolve(aborted);
      if (abortSignal?.aborted) resolve(aborted);
      else abortSignal?.addEventListener("abort", onAbort, { once: true });
    });
    let iterator: ReturnType<LlamaContextSequence["evaluate"]> | undefined;
    try {
      // Each request starts from an empty sequence: reusing a cached prefix evaluates the prompt in other
      // batch shapes, which can change floating-point results and so break greedy determinism.
      await sequence.clearHistory();
      // A job taken over from another neuron counts the tokens it already generated as its own.
      usage = { promptTokens: prompt.tokens.length, completionTokens: resumed.length };
      const { temperature = 1, topP = 1, seed, maxTokens } = request.sampling;
      const limit = Math.min(maxTokens ?? Number.POSITIVE_INFINITY, contextSize - prompt.tokens.length);
      if (resumed.length >= limit) {
        yield { type: "finish", finishReason: "length", usage };
        return;
      }
      const firstInput = await evaluateResumedTokens(sequence, prompt.tokens, resumed);
      iterator = sequence.evaluate(firstInput, {
        temperature,
        topP,
        topK: extra.data.topK ?? 40,
        minP: extra.data.minP ?? 0,
        ...(seed === undefined ? {} : { seed: seed >>> 0 }),
        yieldEogToken: true,
      });
      const decoder = new TokenTextDecoder<Token>(
        (tokens, previous) => entry.model.detokenize(tokens, false, previous),
        resumed,
      );
      const filter = new StopSequenceFilter(prompt.stopTexts);
      const aligned = new TokenAlignedText();
      /** Tokens pushed to the decoder whose text it still holds. */
      let undecoded: Token[] = [];
      let finishReason: FinishReason | null = null;

      while (finishReason === null) {
        const pending = iterator.next();
        pending.catch(() => {});
        const next = await Promise.race([pending, abortPromise]);
        if (next === aborted) {
          finishReason = "cancelled";
          break;
        }
        if (next.done) {
          finishReason = "stop";
          break;
        }
        const token = next.value;
        usage = { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens + 1 };
        const endsTurn = entry.model.isEogToken(token) || prompt.stopTokens.has(token);
        const lastToken = endsTurn || usage.completionTokens >= limit;
        let stopped = false;
        const feed = (piece: string) => {
          if (stopped) return;
          const step = filter.push(piece);
          aligned.released(step.text);
          stopped = step.stopped;
        };
        if (!endsTurn) {
          const piece = decoder.push(token);
          undecoded.push(token);
          if (decoder.holding === 0) {
            aligned.decoded(undecoded, piece);
            undecoded = [];
            feed(piece);
          }
        }
        if (lastToken) {
          const rest = decoder.flush();
          aligned.decoded(undecoded, rest);
          undecoded = [];
          feed(rest);
          if (!stopped) aligned.released(filter.flush());
        }
        if (stopped || endsTurn) finishReason = "stop";
        else if (lastToken) finishReason = "length";
        const delta = finishReason === null ? aligned.take() : aligned.takeAll();
        if (delta.text.length > 0)
          yield { type: "text-delta", text: delta.text, usage, tokens: delta.tokens };
      }
      yield { type: "finish", finishReason, usage };
    } catch (error) {
      if (abortSignal?.aborted) yield { type: "finish", finishReason: "cancelled", usage };
      else
        yield { type: "error", error: new HelexaError("internal", `generation failed: ${messageOf(error)}`) };
    } finally {
      abortSignal?.removeEventListener("abort", onAbort);
      // Waits for the token in flight, so the sequence is idle before the next request gets it.
      await iterator?.return().catch(() => {});
      entry.sequences.release(sequence);
      generations.release(generation);
    }
  }

  /** Generations per model, counted before doStream looks the model up, so an unload can wait for them. */
  const running = new Map<string, number>();
  const idleWaiters = new Map<string, Array<() => void>>();
  const loading = new Map<string, Promise<RuntimeModel>>();
  const unloading = new Map<string, Promise<void>>();

  async function* countedStream(streamOptions: StreamOptions): AsyncIterable<StreamPart> {
    const modelId = streamOptions.request.model;
    running.set(modelId, (running.get(modelId) ?? 0) + 1);
    try {
      yield* doStream(streamOptions);
    } finally {
      const left = (running.get(modelId) ?? 1) - 1;
      if (left > 0) running.set(modelId, left);
      else {
        running.delete(modelId);
        const waiters = idleWaiters.get(modelId) ?? [];
        idleWaiters.delete(modelId);
        for (const resolve of waiters) resolve();
      }
    }
  }

  function loadModel(
    modelOptions: LoadModelOptions,
    onProgress?: (event: ProgressEvent) => void,
  ): Promise<RuntimeModel> {
    if (disposed)
      return Promise.reject(new HelexaError("no_capacity", "the llama-cpp runtime has been shut down"));
    const known = loaded.get(modelOptions.id);
    if (known) return Promise.resolve(describeModel(known));
    const pending = loading.get(modelOptions.id);
    if (pending) return pending;
    const load = (async () => {
      await unloading.get(modelOptions.id);
      const trainContext = await checkModelFile(modelOptions);
      const entry = await loadEntry(modelOptions, trainContext, onProgress);
      if (disposed) {
        await entry.context.dispose().catch(() => {});
        await entry.model.dispose().catch(() => {});
        throw new HelexaError("no_capacity", "the llama-cpp runtime has been shut down");
      }
      loaded.set(entry.id, entry);
      return describeModel(entry);
    })().finally(() => loading.delete(modelOptions.id));
    loading.set(modelOptions.id, load);
    return load;
  }

  function unloadModel(modelId: string): Promise<void> {
    const pending = unloading.get(modelId);
    if (pending) return pending;
    const unload = (async () => {
      // Without a load to wait for, the model leaves models() before this returns.
      const load = loading.get(modelId);
      if (load) await load.catch(() => {});
      const entry = loaded.get(modelId);
      if (!entry) return;
      // Gone from models() and from new generations at once; its memory goes when the running ones end.
      loaded.delete(modelId);
      if (running.has(modelId)) {
        await new Promise<void>((resolve) => {
          const waiters = idleWaiters.get(modelId);
          if (waiters) waiters.push(resolve);
          else idleWaiters.set(modelId, [resolve]);
        });
      }
      fileSizes.delete(modelId);
      entry.sequences.close(new HelexaError("model_not_found", `model ${modelId} was unloaded`));
      await entry.context.dispose().catch(() => {});
      await entry.model.dispose().catch(() => {});
    })().finally(() => unloading.delete(modelId));
    unloading.set(modelId, unload);
    return unload;
  }

  const version = nodeLlamaCppVersion();
  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "llama-cpp",
    canResume: true,
    engine: `node-llama-cpp ${version} ${llama.gpu === false ? "cpu" : llama.gpu}`,
    slots,
    models: () => [...loaded.values()].map(describeModel),
    doStream: countedStream,
    loadModel,
    unloadModel,
    doGenerate: (streamOptions) => generateFromStream(runtime, streamOptions),
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      const closed = new HelexaError("no_capacity", "the llama-cpp runtime has been shut down");
      generations.close(closed);
      for (const entry of loaded.values()) {
        entry.sequences.close(closed);
        await entry.context.dispose();
        await entry.model.dispose();
      }
      await llama.dispose();
    },
  };
  return runtime;
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The engine worker's entry: owns the runtime, so downloads, loads and generation never block the page.

import { describeZodError, HelexaError } from "@helexa/protocol";
import type { LanguageModelRuntime, ProgressEvent } from "@helexa/runtime";
import { detectEngine, estimateWllamaMemoryBytes } from "./detect-engine.js";
import {
  type EngineReady,
  type ParsedPageToWorkerMessage,
  pageToWorkerMessageSchema,
  type WorkerToPageMessage,
} from "./engine-messages.js";
import { createModelStore } from "./model-store.js";
import { createWllamaRuntime } from "./wllama-runtime.js";

/** The parts of a dedicated worker's global scope this uses; the DOM library types `self` as a window. */
interface WorkerScope {
  location: { href: string };
  postMessage(message: WorkerToPageMessage): void;
  addEventListener(type: "message", listener: (event: MessageEvent<unknown>) => void): void;
}

type LoadMessage = Extract<ParsedPageToWorkerMessage, { type: "load" }>;

const scope = globalThis as unknown as WorkerScope;
// The build copies wllama.wasm next to this bundle.
const wllamaWasmUrl = new URL("./wllama.wasm", scope.location.href).href;
const store = createModelStore();

let runtime: LanguageModelRuntime | null = null;
let loading: AbortController | null = null;
/** Loads and unloads run one after another, in the order the page sent them. */
let lifecycle: Promise<void> = Promise.resolve();
const jobs = new Map<string, AbortController>();

function post(message: WorkerToPageMessage): void {
  scope.postMessage(message);
}

function toHelexaError(error: unknown): HelexaError {
  if (HelexaError.is(error)) return error;
  if (error instanceof DOMException && error.name === "AbortError")
    return new HelexaError("job_cancelled", "the load was cancelled");
  return new HelexaError("internal", error instanceof Error ? error.message : String(error));
}

function progress(event: ProgressEvent): void {
  post({ type: "progress", ...event });
}

async function disposeRuntime(): Promise<void> {
  for (const controller of jobs.values()) controller.abort();
  const current = runtime;
  runtime = null;
  await current?.[Symbol.asyncDispose]();
}

async function loadWllama(message: LoadMessage, signal: AbortSignal, reason: string) {
  const { model, preferences } = message;
  const file = await store.open({
    url: model.url,
    label: model.id,
    signal,
    onProgress: progress,
    ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }),
    ...(model.sizeBytes === undefined ? {} : { sizeBytes: model.sizeBytes }),
  });
  // The catalog may not give the size: the file itself is checked against the visitor's limit before loading.
  const needed = estimateWllamaMemoryBytes(file.blob.size);
  const limit = preferences.memoryLimitBytes;
  if (limit !== undefined && needed > limit) {
    throw new HelexaError(
      "no_capacity",
      `model ${model.id} needs about ${Math.ceil(needed / 1048576)} MB on wllama; this tab may use ${Math.ceil(limit / 1048576)} MB`,
    );
  }
  signal.throwIfAborted();
  const loaded = await createWllamaRuntime({
    model: {
      id: model.id,
      ...(model.contextLength === undefined ? {} : { contextLength: model.contextLength }),
    },
    file: file.blob,
    wasmUrl: wllamaWasmUrl,
    onProgress: progress,
    onLog: (level, text) => console[level](`[wllama] ${text}`),
    ...(preferences.threads === undefined ? {} : { threads: preferences.threads }),
  });
  return { runtime: loaded, fromStorage: file.fromStorage, reason };
}

async function load(message: LoadMessage): Promise<void> {
  await disposeRuntime();
  const controller = new AbortController();
  loading = controller;
  try {
    const { model, preferences } = message;
    const detection = await detectEngine({ model, preferences });
    let result: { runtime: LanguageModelRuntime; fromStorage: boolean; reason: string } | null = null;
    if (detection.engine === "webllm" && model.mlc) {
      try {
        const { createWebLlmRuntime } = await import("./webllm-runtime.js");
        const loaded = await createWebLlmRuntime({
          model: {
            id: model.id,
            mlc: model.mlc,
            ...(model.contextLength === undefined ? {} : { contextLength: model.contextLength }),
          },
          onProgress: progress,
        });
        result = { runtime: loaded, fromStorage: false, reason: detection.reason };
      } catch (error) {
        if (controller.signal.aborted) throw error;
        // The GGUF build still runs everywhere: a WebLLM failure costs speed, not the visitor's contribution.
        const why = toHelexaError(error).message;
        result = await loadWllama(
          message,
          controller.signal,
          `${detection.reason}, but WebLLM failed (${why}); wllama runs it on the CPU instead`,
        );
      }
    } else {
      result = await loadWllama(message, controller.signal, detection.reason);
    }
    if (controller.signal.aborted) {
      await result.runtime[Symbol.asyncDispose]();
      controller.signal.throwIfAborted();
    }
    runtime = result.runtime;
    const served = runtime.models()[0]!;
    const ready: EngineReady = {
      engine: runtime.kind === "webllm" ? "webllm" : "wllama",
      reason: result.reason,
      description: runtime.engine,
      model: { id: served.id, contextLength: served.contextLength },
      adapter: detection.adapter,
      fromStorage: result.fromStorage,
    };
    post({ type: "ready", ready });
  } catch (error) {
    post({ type: "load-error", error: toHelexaError(error).toWire() });
  } finally {
    if (loading === controller) loading = null;
  }
}

async function generate(message: Extract<ParsedPageToWorkerMessage, { type: "generate" }>): Promise<void> {
  const { jobId } = message;
  if (jobs.has(jobId)) {
    post({
      type: "error",
      jobId,
      error: { code: "protocol_violation", message: `job ${jobId} is already running` },
    });
    return;
  }
  const current = runtime;
  if (!current) {
    post({ type: "error", jobId, error: { code: "no_capacity", message: "no model is loaded in this tab" } });
    return;
  }
  const controller = new AbortController();
  jobs.set(jobId, controller);
  try {
    for await (const part of current.doStream({
      request: message.request,
      abortSignal: controller.signal,
      ...(message.providerOptions === undefined ? {} : { providerOptions: message.providerOptions }),
    })) {
      if (part.type === "text-delta") {
        post({
          type: "delta",
          jobId,
          text: part.text,
          ...(part.usage ? { usage: part.usage } : {}),
          ...(part.tokens ? { tokens: part.tokens } : {}),
        });
      } else if (part.type === "finish") {
        post({ type: "finish", jobId, finishReason: part.finishReason, usage: part.usage });
      } else {
        post({ type: "error", jobId, error: part.error.toWire() });
      }
    }
  } catch (error) {
    post({ type: "error", jobId, error: toHelexaError(error).toWire() });
  } finally {
    jobs.delete(jobId);
  }
}

scope.addEventListener("message", (event) => {
  const parsed = pageToWorkerMessageSchema.safeParse(event.data);
  if (!parsed.success) {
    const { message } = describeZodError(parsed.error);
    const jobId = (event.data as { jobId?: unknown } | null)?.jobId;
    const error = { code: "protocol_violation" as const, message: `malformed message: ${message}` };
    if (typeof jobId === "string" && jobId.length > 0 && jobId.length <= 100)
      post({ type: "error", jobId, error });
    else post({ type: "load-error", error });
    return;
  }
  const message = parsed.data;
  switch (message.type) {
    case "load":
      loading?.abort();
      lifecycle = lifecycle.then(() => load(message));
      break;
    case "generate":
      void generate(message);
      break;
    case "cancel":
      jobs.get(message.jobId)?.abort();
      break;
    case "unload":
      loading?.abort();
      lifecycle = lifecycle.then(async () => {
        await disposeRuntime().catch(() => {});
        post({ type: "unloaded" });
      });
      break;
  }
});

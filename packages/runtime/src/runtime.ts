// SPDX-License-Identifier: PolyForm-Shield-1.0
// The runtime interface every inference engine implements, after the Vercel AI SDK's provider spec.

import type { FinishReason, GenerationRequest, HelexaError, Usage } from "@helexa/protocol";

export const RUNTIME_SPECIFICATION_VERSION = "helexa-runtime-v1" as const;

/** A model a runtime has loaded and can serve. */
export interface RuntimeModel {
  id: string;
  contextLength: number;
  /** The model file's size, which counts against a neuron's memory budget; where the runtime knows it. */
  sizeBytes?: number;
}

/** A model file for a runtime that loads models while it runs (`loadModel`). */
export interface LoadModelOptions {
  id: string;
  path: string;
  /** Tokens each sequence holds; the runtime's default when absent. */
  contextLength?: number;
}

/**
 * One part of a generation's stream: text as it comes, then exactly one finish or error.
 * A text delta may carry the usage so far (prompt tokens, and completion tokens including this delta's),
 * which lets a job cut short be billed for exactly what was delivered. It may also carry `tokens`, the ids of
 * the completion tokens whose text it completes, so that the deltas' tokens together spell exactly the text
 * sent: a runtime that reports them can take over a job another neuron started (`request.resume`).
 */
export type StreamPart =
  | { type: "text-delta"; text: string; usage?: Usage; tokens?: number[] }
  | { type: "finish"; finishReason: FinishReason; usage: Usage }
  | { type: "error"; error: HelexaError };

export interface StreamOptions {
  request: GenerationRequest;
  /** Aborting ends the stream with a `finish` of reason `cancelled` and the usage so far. */
  abortSignal?: AbortSignal;
  /** Engine-specific settings, the escape hatch of the spec. */
  providerOptions?: Record<string, unknown>;
}

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  usage: Usage;
}

/** Progress of a long operation (download, load), as a fraction from 0 to 1 where known. */
export interface ProgressEvent {
  phase: "download" | "load";
  label: string;
  fraction: number | null;
  bytes?: { done: number; total: number | null };
}

export interface LanguageModelRuntime extends AsyncDisposable {
  readonly specificationVersion: typeof RUNTIME_SPECIFICATION_VERSION;
  /** Which implementation: "llama-cpp", "openai-upstream", "synthetic-for-load-tests". */
  readonly kind: string;
  /** The engine in words, for capabilities and logs: "node-llama-cpp 3.22.1 cpu". */
  readonly engine: string;
  /** How many generations may run at once. */
  readonly slots: number;
  /** Reports token ids on its text deltas and takes over a job from them (`request.resume`). */
  readonly canResume?: boolean;
  models(): RuntimeModel[];
  doStream(options: StreamOptions): AsyncIterable<StreamPart>;
  doGenerate(options: StreamOptions): Promise<GenerateResult>;
  /** Loads one more model while serving the others; runtimes that cannot (an upstream engine) lack it. */
  loadModel?(options: LoadModelOptions, onProgress?: (event: ProgressEvent) => void): Promise<RuntimeModel>;
  /**
   * Unloads a model: it leaves `models()` at once, so new generations for it fail with model_not_found,
   * and its memory is freed once the generations already running on it have ended.
   */
  unloadModel?(modelId: string): Promise<void>;
}

/** doGenerate for any runtime: drains doStream. */
export async function generateFromStream(
  runtime: Pick<LanguageModelRuntime, "doStream">,
  options: StreamOptions,
): Promise<GenerateResult> {
  let text = "";
  for await (const part of runtime.doStream(options)) {
    if (part.type === "text-delta") text += part.text;
    else if (part.type === "error") throw part.error;
    else return { text, finishReason: part.finishReason, usage: part.usage };
  }
  throw new Error("runtime stream ended without a finish part");
}

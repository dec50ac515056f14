// SPDX-License-Identifier: PolyForm-Shield-1.0
// Makes the neuron's runtime from what its operator named: a model file or URL, an upstream engine, or (load tests) none.

import { basename } from "node:path";
import { type DownloadProgress, defaultModel, resolveModelSource } from "@helexa/models";
import { HelexaError } from "@helexa/protocol";
import type { ProgressEvent } from "@helexa/runtime";
import {
  createOpenAIUpstreamRuntime,
  createSyntheticLoadTestRuntime,
  type LanguageModelRuntime,
} from "@helexa/runtime";

export interface NeuronRuntimeOptions {
  /** A GGUF path, an http(s) URL, or the default model's id. */
  model?: string;
  /** The name clients use for the model; from the file name by default. */
  modelId?: string;
  modelsDir: string;
  /** An OpenAI-compatible engine to front instead of a local model. */
  upstream?: { url: string; apiKey?: string };
  /** Start llama.cpp with no model when none is named: cortex provisions models on request. */
  startEmpty?: boolean;
  /** For load tests only: no model, the synthetic runtime at this many tokens/s per stream. */
  syntheticLoadTestTokensPerSecond?: number;
  threads?: number;
  gpu?: "auto" | "cuda" | "vulkan" | "metal" | "off";
  slots?: number;
  contextLength?: number;
  signal?: AbortSignal;
  onDownloadProgress?: (progress: DownloadProgress) => void;
  onLoadProgress?: (event: ProgressEvent) => void;
  onLog?: (level: "warn" | "error", message: string) => void;
}

export async function createNeuronRuntime(options: NeuronRuntimeOptions): Promise<LanguageModelRuntime> {
  if (options.syntheticLoadTestTokensPerSecond !== undefined) {
    if (options.model || options.upstream) {
      throw new HelexaError(
        "invalid_request",
        "the synthetic load-test runtime serves no model: leave out --model and --upstream-url",
      );
    }
    return createSyntheticLoadTestRuntime({
      tokensPerSecond: options.syntheticLoadTestTokensPerSecond,
      ...(options.slots ? { slots: options.slots } : {}),
      ...(options.contextLength ? { contextLength: options.contextLength } : {}),
    });
  }
  if (options.upstream) {
    return createOpenAIUpstreamRuntime({
      baseUrl: options.upstream.url,
      ...(options.upstream.apiKey ? { apiKey: options.upstream.apiKey } : {}),
      ...(options.slots ? { slots: options.slots } : {}),
    });
  }
  if (!options.model && !options.startEmpty) {
    throw new HelexaError(
      "invalid_request",
      "the neuron needs a model (--model PATH|URL) or an upstream engine (--upstream-url)",
    );
  }
  const path = options.model
    ? await resolveModelSource(options.model, options.modelsDir, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onDownloadProgress ? { onProgress: options.onDownloadProgress } : {}),
      })
    : null;
  // The native binding loads only when a local model is served, so upstream neurons never need it.
  const { createLlamaCppRuntime } = await import("@helexa/runtime/llama-cpp");
  return createLlamaCppRuntime({
    models:
      options.model && path
        ? [
            {
              id: options.modelId ?? modelIdOf(options.model, path),
              path,
              ...(options.contextLength ? { contextLength: options.contextLength } : {}),
            },
          ]
        : [],
    ...(options.threads ? { threads: options.threads } : {}),
    gpu: options.gpu === "off" ? false : (options.gpu ?? "auto"),
    ...(options.slots ? { slots: options.slots } : {}),
    ...(options.onLoadProgress ? { onProgress: options.onLoadProgress } : {}),
    ...(options.onLog ? { onLog: options.onLog } : {}),
  });
}

/** The default model keeps its catalog id; any other file is named after itself, without `.gguf`. */
export function modelIdOf(source: string, path: string): string {
  if (source === defaultModel.id || source === defaultModel.url) return defaultModel.id;
  return basename(path)
    .replace(/\.gguf$/i, "")
    .toLowerCase();
}

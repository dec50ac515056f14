// SPDX-License-Identifier: PolyForm-Shield-1.0
// Picks the tab's engine: WebLLM where a WebGPU adapter can run the model's MLC build, wllama otherwise, with the reason.

import { HelexaError } from "@helexa/protocol";
import type { AdapterSummary, BrowserModel, EngineKind, EnginePreferences } from "./engine-messages.js";

/** The little of WebGPU this needs; TypeScript's DOM library has no WebGPU types yet. */
export interface WebGpuLike {
  requestAdapter(options?: {
    powerPreference?: "low-power" | "high-performance";
  }): Promise<WebGpuAdapterLike | null>;
}
export interface WebGpuAdapterLike {
  readonly features: ReadonlySet<string>;
  readonly info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  /** Older browsers say it here rather than in info. */
  readonly isFallbackAdapter?: boolean;
}

export interface EngineDetection {
  engine: EngineKind;
  /** Why, in words for the visitor. */
  reason: string;
  adapter: AdapterSummary | null;
  /** The memory the model will take on the chosen engine, as far as it can be told before loading. */
  memoryBytes: number | null;
}

export interface DetectEngineOptions {
  model: BrowserModel;
  preferences?: EnginePreferences;
  /** navigator.gpu by default; null to detect as if the browser had no WebGPU. */
  gpu?: WebGpuLike | null;
}

/**
 * What wllama needs besides the GGUF file itself: the KV cache, compute buffers and the runtime. A quarter
 * of the file with 64 MB at least covers the 2048-token default context of the small models browsers serve.
 */
export function estimateWllamaMemoryBytes(fileBytes: number): number {
  return fileBytes + Math.max(64 * 1024 * 1024, Math.ceil(fileBytes / 4));
}

function megabytes(bytes: number): string {
  return `${Math.ceil(bytes / 1024 / 1024)} MB`;
}

function summarize(adapter: WebGpuAdapterLike): AdapterSummary {
  const info = adapter.info ?? {};
  const vendor = info.vendor ?? "";
  const architecture = info.architecture ?? "";
  const name = info.description || [vendor, architecture].filter(Boolean).join(" ") || "unnamed adapter";
  return {
    name,
    vendor,
    architecture,
    fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
    features: [...adapter.features].sort(),
  };
}

function defaultGpu(): WebGpuLike | null {
  if (typeof navigator === "undefined") return null;
  return (navigator as Navigator & { gpu?: WebGpuLike }).gpu ?? null;
}

/** Refuses a model that needs more than the visitor allows, before anything is downloaded. */
function checkMemoryLimit(
  model: BrowserModel,
  engine: EngineKind,
  needed: number | null,
  limit: number | undefined,
) {
  if (limit === undefined || needed === null || needed <= limit) return;
  throw new HelexaError(
    "no_capacity",
    `model ${model.id} needs about ${megabytes(needed)} on ${engine}; this tab may use ${megabytes(limit)}`,
  );
}

/**
 * WebLLM when navigator.gpu gives an adapter, the model has an MLC build, the adapter has the features
 * that build needs and the build fits the memory limit; wllama otherwise. A model that fits neither is
 * refused with no_capacity.
 */
export async function detectEngine(options: DetectEngineOptions): Promise<EngineDetection> {
  const { model } = options;
  const preference = options.preferences?.engine ?? "auto";
  const limit = options.preferences?.memoryLimitBytes;
  const wllamaBytes = model.sizeBytes === undefined ? null : estimateWllamaMemoryBytes(model.sizeBytes);
  const wllama = (reason: string, adapter: AdapterSummary | null): EngineDetection => {
    checkMemoryLimit(model, "wllama", wllamaBytes, limit);
    return { engine: "wllama", reason, adapter, memoryBytes: wllamaBytes };
  };

  if (preference === "wllama") return wllama("wllama (WebAssembly) was asked for", null);
  const gpu = options.gpu === undefined ? defaultGpu() : options.gpu;
  if (!gpu) return wllama("this browser has no WebGPU, so the model runs on the CPU with wllama", null);
  let rawAdapter: WebGpuAdapterLike | null = null;
  let failure = "";
  try {
    rawAdapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    failure = `: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!rawAdapter)
    return wllama(`no WebGPU adapter${failure}, so the model runs on the CPU with wllama`, null);

  const adapter = summarize(rawAdapter);
  const found = `WebGPU adapter ${adapter.name}${adapter.fallback ? " (software)" : ""} found`;
  if (!model.mlc)
    return wllama(`${found} but model ${model.id} has no MLC build; wllama runs it on the CPU`, adapter);
  const missing = (model.mlc.requiredFeatures ?? []).filter((feature) => !rawAdapter.features.has(feature));
  if (missing.length > 0) {
    return wllama(
      `${found} but it lacks ${missing.join(", ")}, which the MLC build of model ${model.id} needs; wllama runs it on the CPU`,
      adapter,
    );
  }
  const webllmBytes = model.mlc.gpuMemoryBytes ?? model.sizeBytes ?? null;
  if (limit !== undefined && webllmBytes !== null && webllmBytes > limit) {
    return wllama(
      `${found} but the MLC build of model ${model.id} needs about ${megabytes(webllmBytes)}, over this tab's ${megabytes(limit)}`,
      adapter,
    );
  }
  return {
    engine: "webllm",
    reason: `${found} and model ${model.id} has an MLC build: WebLLM runs it on the GPU`,
    adapter,
    memoryBytes: webllmBytes,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Engine choice for adapters this machine lacks (a GPU with shader-f16); SwiftShader's is tested in Chromium.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { detectEngine, estimateWllamaMemoryBytes, type WebGpuLike } from "./detect-engine.js";
import type { BrowserModel } from "./engine-messages.js";

const MB = 1024 * 1024;

/** A stand-in for navigator.gpu with a hardware adapter: no GPU here to ask. */
function gpuWith(
  features: string[],
  info = { vendor: "nvidia", architecture: "ada", description: "" },
): WebGpuLike {
  return { requestAdapter: async () => ({ features: new Set(features), info }) };
}

const withMlc: BrowserModel = {
  id: "qwen",
  url: "https://cortex.example/models/qwen.gguf",
  sizeBytes: 400 * MB,
  mlc: {
    modelUrl: "https://cortex.example/mlc/qwen/",
    modelLibraryUrl: "https://cortex.example/mlc/qwen.wasm",
    requiredFeatures: ["shader-f16"],
    gpuMemoryBytes: 900 * MB,
  },
};

test("a GPU with the build's features runs WebLLM; without them, or past the memory limit, wllama", async () => {
  const fast = await detectEngine({ model: withMlc, gpu: gpuWith(["shader-f16"]) });
  assert.equal(fast.engine, "webllm");
  assert.equal(
    fast.reason,
    "WebGPU adapter nvidia ada found and model qwen has an MLC build: WebLLM runs it on the GPU",
  );
  assert.equal(fast.memoryBytes, 900 * MB);
  const noF16 = await detectEngine({ model: withMlc, gpu: gpuWith([]) });
  assert.equal(noF16.engine, "wllama");
  assert.match(noF16.reason, /lacks shader-f16/);
  const limited = await detectEngine({
    model: withMlc,
    gpu: gpuWith(["shader-f16"]),
    preferences: { memoryLimitBytes: 600 * MB },
  });
  assert.equal(limited.engine, "wllama");
  assert.match(limited.reason, /needs about 900 MB, over this tab's 600 MB/);
  assert.equal(limited.memoryBytes, estimateWllamaMemoryBytes(400 * MB));
});

test("a preference for wllama, no navigator.gpu, no adapter and a failing adapter request all give wllama", async () => {
  const gpu = gpuWith(["shader-f16"]);
  assert.equal(
    (await detectEngine({ model: withMlc, gpu, preferences: { engine: "wllama" } })).engine,
    "wllama",
  );
  assert.match((await detectEngine({ model: withMlc, gpu: null })).reason, /^this browser has no WebGPU/);
  const none = await detectEngine({ model: withMlc, gpu: { requestAdapter: async () => null } });
  assert.equal(none.reason, "no WebGPU adapter, so the model runs on the CPU with wllama");
  const broken = await detectEngine({
    model: withMlc,
    gpu: {
      requestAdapter: async () => {
        throw new Error("GPU process crashed");
      },
    },
  });
  assert.equal(
    broken.reason,
    "no WebGPU adapter: GPU process crashed, so the model runs on the CPU with wllama",
  );
});

test("a model that fits neither engine within the limit is refused with no_capacity", async () => {
  await assert.rejects(
    detectEngine({ model: withMlc, gpu: null, preferences: { memoryLimitBytes: 256 * MB } }),
    (error) => {
      assert.ok(HelexaError.is(error));
      assert.equal(error.code, "no_capacity");
      assert.equal(error.message, "model qwen needs about 500 MB on wllama; this tab may use 256 MB");
      return true;
    },
  );
});

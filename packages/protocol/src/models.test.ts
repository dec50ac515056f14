// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the provisioning messages and the capabilities a provisioning neuron sends; older neurons stay valid.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage } from "./codec.js";
import { HelexaError } from "./errors.js";
import { cortexSessionMessageSchema, neuronSessionMessageSchema } from "./session.js";

const load = {
  type: "model.load" as const,
  modelId: "qwen2.5-0.5b-instruct",
  url: "https://models.example/qwen.gguf",
  sha256: "a".repeat(64),
  sizeBytes: 491_400_032,
  contextLength: 32768,
};

function malformed(
  schema: typeof cortexSessionMessageSchema | typeof neuronSessionMessageSchema,
  value: unknown,
) {
  assert.throws(
    () => decodeMessage(schema, JSON.stringify(value)),
    (error) => HelexaError.is(error) && error.code === "protocol_violation",
  );
}

test("model.load and model.unload travel from cortex; a bad checksum, URL or size is refused", () => {
  assert.deepEqual(decodeMessage(cortexSessionMessageSchema, encodeMessage(load)), load);
  const unload = { type: "model.unload" as const, modelId: "m" };
  assert.deepEqual(decodeMessage(cortexSessionMessageSchema, encodeMessage(unload)), unload);
  malformed(cortexSessionMessageSchema, { ...load, sha256: "A".repeat(64) });
  malformed(cortexSessionMessageSchema, { ...load, url: "file:///etc/passwd" });
  malformed(cortexSessionMessageSchema, { ...load, sizeBytes: 0 });
  // A neuron cannot send what only cortex sends.
  malformed(neuronSessionMessageSchema, load);
});

test("model.progress and model.error travel from the neuron; a fraction past 1 is refused", () => {
  const progress = {
    type: "model.progress" as const,
    modelId: "m",
    phase: "download" as const,
    fraction: 0.5,
    bytes: 1024,
  };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(progress)), progress);
  const unknown = { ...progress, fraction: null };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(unknown)), unknown);
  malformed(neuronSessionMessageSchema, { ...progress, fraction: 1.5 });
  malformed(neuronSessionMessageSchema, { ...progress, phase: "unpack" });
  const error = {
    type: "model.error" as const,
    modelId: "m",
    error: { code: "checksum_mismatch" as const, message: "model m: checksum mismatch" },
  };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(error)), error);
});

test("capabilities may say provisioning, a memory budget and model sizes; without them they are still valid", () => {
  const old = {
    type: "capabilities" as const,
    models: [{ id: "m", contextLength: 2048 }],
    runtime: { kind: "llama-cpp", engine: "node-llama-cpp" },
    hardware: { cpu: "x", cores: 2, memoryBytes: 8e9, gpu: null },
    slots: 1,
  };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(old)), old);
  const provisioning = {
    ...old,
    models: [{ id: "m", contextLength: 2048, sizeBytes: 856_768 }],
    provisioning: true,
    memoryBudgetBytes: 4e9,
  };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(provisioning)), provisioning);
  malformed(neuronSessionMessageSchema, { ...provisioning, memoryBudgetBytes: -1 });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The page-to-worker messages: what the worker accepts, and what it refuses before doing anything.

import assert from "node:assert/strict";
import { test } from "node:test";
import { pageToWorkerMessageSchema, workerToPageMessageSchema } from "./engine-messages.js";

test("a load takes an http(s) model with an optional sha256 and MLC build, and defaults the engine to auto", () => {
  const parsed = pageToWorkerMessageSchema.parse({
    type: "load",
    model: { id: "tiny", url: "https://cortex.example/models/tiny.gguf" },
  });
  assert.deepEqual(parsed, {
    type: "load",
    model: { id: "tiny", url: "https://cortex.example/models/tiny.gguf" },
    preferences: { engine: "auto" },
  });
  for (const model of [
    { id: "tiny", url: "/models/tiny.gguf" },
    { id: "tiny", url: "file:///etc/passwd" },
    { id: "", url: "https://cortex.example/a.gguf" },
    { id: "tiny", url: "https://cortex.example/a.gguf", sha256: "ABC" },
    { id: "tiny", url: "https://cortex.example/a.gguf", mlc: { modelUrl: "https://cortex.example/m/" } },
  ]) {
    assert.equal(
      pageToWorkerMessageSchema.safeParse({ type: "load", model }).success,
      false,
      JSON.stringify(model),
    );
  }
});

test("generate carries a generation request; deltas and finishes carry usage", () => {
  assert.equal(
    pageToWorkerMessageSchema.safeParse({
      type: "generate",
      jobId: "a",
      request: { model: "tiny", input: { kind: "text", prompt: "Hi" }, sampling: { maxTokens: -1 } },
    }).success,
    false,
  );
  assert.ok(
    workerToPageMessageSchema.safeParse({
      type: "delta",
      jobId: "a",
      text: "Hi",
      usage: { promptTokens: 3, completionTokens: 1 },
    }).success,
  );
  assert.equal(
    workerToPageMessageSchema.safeParse({ type: "finish", jobId: "a", finishReason: "done", usage: {} })
      .success,
    false,
  );
});

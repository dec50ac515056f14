// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the wire schemas: decoding, typed errors, and OpenAI requests turned into generation requests.

import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeMessage, encodeMessage } from "./codec.js";
import { HelexaError } from "./errors.js";
import { cortexChannelMessageSchema, neuronChannelMessageSchema } from "./jobs.js";
import {
  chatCompletionRequestSchema,
  chatRequestToGeneration,
  completionRequestSchema,
  completionRequestToGeneration,
} from "./openai.js";
import { helloSchema, neuronSessionMessageSchema } from "./session.js";

test("messages round-trip through encode and decode", () => {
  const start = {
    type: "job.start" as const,
    jobId: "j1",
    request: { model: "m", input: { kind: "text" as const, prompt: "hi" }, sampling: { maxTokens: 4 } },
  };
  assert.deepEqual(decodeMessage(cortexChannelMessageSchema, encodeMessage(start)), start);
  const delta = {
    type: "job.delta" as const,
    jobId: "j1",
    text: "é",
    usage: { promptTokens: 3, completionTokens: 1 },
  };
  assert.deepEqual(decodeMessage(neuronChannelMessageSchema, encodeMessage(delta)), delta);
});

test("job.start carries the gateway's request id when it has one; a neuron may say it is draining", () => {
  const start = {
    type: "job.start" as const,
    jobId: "j1",
    requestId: "req-1",
    request: { model: "m", input: { kind: "text" as const, prompt: "hi" }, sampling: { maxTokens: 4 } },
  };
  assert.deepEqual(decodeMessage(cortexChannelMessageSchema, encodeMessage(start)), start);
  assert.throws(() => decodeMessage(cortexChannelMessageSchema, encodeMessage({ ...start, requestId: "" })));
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, '{"type":"draining"}'), { type: "draining" });
});

test("bad JSON and bad shapes are typed protocol errors naming the field", () => {
  assert.throws(
    () => decodeMessage(helloSchema, "{nope"),
    (error: unknown) => HelexaError.is(error) && error.code === "protocol_violation",
  );
  assert.throws(
    () =>
      decodeMessage(
        neuronChannelMessageSchema,
        JSON.stringify({ type: "job.end", jobId: "j", finishReason: "done" }),
      ),
    (error: unknown) => HelexaError.is(error) && /finishReason/.test(error.message),
  );
  assert.throws(() =>
    decodeMessage(cortexChannelMessageSchema, JSON.stringify({ type: "job.delta", jobId: "j", text: "" })),
  );
});

test("OpenAI chat requests become generation requests; content parts are joined", () => {
  const body = chatCompletionRequestSchema.parse({
    model: "m",
    messages: [
      { role: "system", content: "be brief" },
      {
        role: "user",
        content: [
          { type: "text", text: "a" },
          { type: "text", text: "b" },
        ],
      },
    ],
    max_completion_tokens: 9,
    max_tokens: 5,
    stop: "END",
    seed: 7,
    temperature: 0,
  });
  assert.deepEqual(chatRequestToGeneration(body), {
    model: "m",
    input: {
      kind: "chat",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "ab" },
      ],
    },
    sampling: { maxTokens: 9, temperature: 0, seed: 7, stop: ["END"] },
  });
});

test("completions default to OpenAI's 16 tokens and reject what is not supported", () => {
  const body = completionRequestSchema.parse({ model: "m", prompt: ["once"] });
  assert.equal(completionRequestToGeneration(body).sampling.maxTokens, 16);
  assert.equal(completionRequestSchema.safeParse({ model: "m", prompt: ["a", "b"] }).success, false);
  assert.equal(
    chatCompletionRequestSchema.safeParse({ model: "m", messages: [{ role: "user", content: "x" }], n: 2 })
      .success,
    false,
  );
  assert.equal(
    chatCompletionRequestSchema.safeParse({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      top_p: 0,
    }).success,
    false,
  );
  assert.equal(
    chatCompletionRequestSchema.safeParse({ model: "", messages: [{ role: "user", content: "x" }] }).success,
    false,
  );
});

test("every error code has a status and an OpenAI type", () => {
  const error = new HelexaError("insufficient_quota", "no credits");
  assert.equal(error.status, 402);
  assert.equal(error.isRetryable, false);
  assert.deepEqual(HelexaError.fromWire(error.toWire()).toWire(), {
    code: "insufficient_quota",
    message: "no credits",
  });
});

test("a browser tab's capabilities carry its host, limits and measured speed; a native neuron's need none", () => {
  const native = {
    type: "capabilities" as const,
    models: [{ id: "m", contextLength: 2048 }],
    runtime: { kind: "llama-cpp", engine: "node-llama-cpp 3.22.1 cpu" },
    hardware: { cpu: "x86", cores: 2, memoryBytes: 8e9, gpu: null },
    slots: 1,
  };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(native)), native);
  const tab = {
    ...native,
    models: [{ id: "m", contextLength: 2048, tokensPerSecond: 14.5 }],
    runtime: { kind: "wllama", engine: "wllama 3.13.0 (1 thread)" },
    host: "browser" as const,
    limits: { maxJobTokens: 1024, maxConcurrentJobs: 1 },
  };
  assert.deepEqual(decodeMessage(neuronSessionMessageSchema, encodeMessage(tab)), tab);
  for (const bad of [
    { ...tab, host: "phone" },
    { ...tab, limits: { maxJobTokens: 0 } },
    { ...tab, limits: { maxJobTokens: 1.5 } },
    { ...tab, models: [{ id: "m", contextLength: 2048, tokensPerSecond: -1 }] },
  ]) {
    assert.throws(
      () => decodeMessage(neuronSessionMessageSchema, JSON.stringify(bad)),
      (error: unknown) => HelexaError.is(error) && error.code === "protocol_violation",
    );
  }
});

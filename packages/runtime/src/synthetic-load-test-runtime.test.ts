// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the synthetic load-test runtime: its rate, abort, exact usage, stop strings and limits.

import assert from "node:assert/strict";
import { test } from "node:test";
import type { GenerationRequest } from "@helexa/protocol";
import type { StreamPart } from "./runtime.js";
import {
  createSyntheticLoadTestRuntime,
  SYNTHETIC_LOAD_TEST_MODEL_ID,
  syntheticPromptTokens,
} from "./synthetic-load-test-runtime.js";

function chat(content: string, sampling: GenerationRequest["sampling"] = {}): GenerationRequest {
  return {
    model: SYNTHETIC_LOAD_TEST_MODEL_ID,
    input: { kind: "chat", messages: [{ role: "user", content }] },
    sampling,
  };
}

async function collect(parts: AsyncIterable<StreamPart>): Promise<Array<StreamPart & { at: number }>> {
  const seen: Array<StreamPart & { at: number }> = [];
  for await (const part of parts) seen.push({ ...part, at: performance.now() });
  return seen;
}

test("it says what it is: a runtime for load tests, serving synthetic-load-test with many slots", () => {
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 20 });
  assert.equal(runtime.kind, "synthetic-for-load-tests");
  assert.match(runtime.engine, /synthetic load-test runtime, no model: 20 tokens\/s/);
  assert.equal(runtime.slots, 1000);
  assert.deepEqual(runtime.models(), [{ id: "synthetic-load-test", contextLength: 4096 }]);
  assert.throws(() => createSyntheticLoadTestRuntime({ tokensPerSecond: 0 }), RangeError);
});

test("tokens come at the set rate: the first at once, then one every 1/rate seconds", async () => {
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 100 });
  const start = performance.now();
  const parts = await collect(runtime.doStream({ request: chat("hello there", { maxTokens: 11 }) }));
  const deltas = parts.filter((part) => part.type === "text-delta");
  assert.equal(deltas.length, 11);
  assert.deepEqual(
    deltas.map((part) => part.text),
    Array.from({ length: 11 }, (_, index) => ` t${index}`),
  );
  deltas.forEach((part, index) => {
    const late = part.at - start - index * 10;
    assert.ok(late > -2 && late < 40, `token ${index} came ${late.toFixed(1)} ms off its schedule`);
  });
  const elapsed = (deltas.at(-1)?.at ?? 0) - start;
  assert.ok(elapsed >= 98 && elapsed < 160, `11 tokens at 100/s took ${elapsed.toFixed(1)} ms`);
  const { at: _, ...finish } = parts.at(-1) ?? { at: 0 };
  assert.deepEqual(finish, {
    type: "finish",
    finishReason: "length",
    usage: { promptTokens: 2, completionTokens: 11 },
  });
});

test("usage is exact: prompt words, completion tokens so far on every delta", async () => {
  assert.equal(syntheticPromptTokens(chat("  one two\nthree  ")), 3);
  assert.equal(
    syntheticPromptTokens({
      model: "m",
      input: {
        kind: "chat",
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "why is the sky blue" },
        ],
      },
      sampling: {},
    }),
    7,
  );
  assert.equal(syntheticPromptTokens({ model: "m", input: { kind: "text", prompt: "" }, sampling: {} }), 0);
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 1000 });
  const result = await runtime.doGenerate({ request: chat("a b c d", { maxTokens: 5 }) });
  assert.deepEqual(result, {
    text: " t0 t1 t2 t3 t4",
    finishReason: "length",
    usage: { promptTokens: 4, completionTokens: 5 },
  });
  const parts = await collect(runtime.doStream({ request: chat("a", { maxTokens: 3 }) }));
  assert.deepEqual(
    parts.flatMap((part) => (part.type === "text-delta" ? [part.usage?.completionTokens] : [])),
    [1, 2, 3],
  );
});

test("without max_tokens the answer runs its course and ends with stop", async () => {
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 10_000, answerTokens: 7 });
  const result = await runtime.doGenerate({ request: chat("hi") });
  assert.equal(result.finishReason, "stop");
  assert.equal(result.usage.completionTokens, 7);
  const small = createSyntheticLoadTestRuntime({ tokensPerSecond: 10_000, contextLength: 5 });
  const cut = await small.doGenerate({ request: chat("one two three") });
  assert.deepEqual(cut.usage, { promptTokens: 3, completionTokens: 2 }, "the context bounds the answer");
  assert.equal(cut.finishReason, "length");
});

test("a stop string ends the stream before it, with the tokens generated counted", async () => {
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 10_000 });
  const result = await runtime.doGenerate({ request: chat("go", { maxTokens: 50, stop: [" t3"] }) });
  assert.deepEqual(result, {
    text: " t0 t1 t2",
    finishReason: "stop",
    usage: { promptTokens: 1, completionTokens: 4 },
  });
  const unseen = await runtime.doGenerate({ request: chat("go", { maxTokens: 3, stop: ["t9"] }) });
  assert.equal(unseen.text, " t0 t1 t2", "text held back for a possible stop is sent at the end");
  assert.equal(unseen.finishReason, "length");
});

test("aborting ends the stream at once with cancelled and the usage so far", async () => {
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 20 });
  const controller = new AbortController();
  const parts: StreamPart[] = [];
  const start = performance.now();
  for await (const part of runtime.doStream({
    request: chat("x y", { maxTokens: 100 }),
    abortSignal: controller.signal,
  })) {
    parts.push(part);
    if (parts.length === 3) controller.abort();
  }
  assert.ok(performance.now() - start < 500, "the abort did not wait for the next token");
  assert.deepEqual(parts.at(-1), {
    type: "finish",
    finishReason: "cancelled",
    usage: { promptTokens: 2, completionTokens: 3 },
  });
  assert.equal(parts.length, 4);
  const aborted = await runtime.doGenerate({ request: chat("z"), abortSignal: AbortSignal.abort() });
  assert.deepEqual(aborted.usage, { promptTokens: 1, completionTokens: 0 });
  assert.equal(aborted.finishReason, "cancelled");
});

test("a model it does not serve is an error part", async () => {
  const runtime = createSyntheticLoadTestRuntime({ tokensPerSecond: 20, models: ["load-a", "load-b"] });
  assert.deepEqual(
    runtime.models().map((model) => model.id),
    ["load-a", "load-b"],
  );
  const parts = await collect(runtime.doStream({ request: chat("hi") }));
  assert.equal(parts.length, 1);
  assert.equal(parts[0]?.type, "error");
  assert.equal(parts[0]?.type === "error" ? parts[0].error.code : "", "model_not_found");
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Model-dependent tests of the node-llama-cpp runtime on generated tiny models (one file, so one worker).

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type GgufTensorInput,
  generateTinyModel,
  readGgufHeader,
  writeGguf,
} from "@helexa/gguf";
import { type GenerationRequest, HelexaError, type Sampling } from "@helexa/protocol";
import { getLlama, type Llama, type LlamaModel } from "node-llama-cpp";
import type { LanguageModelRuntime, ProgressEvent, StreamPart } from "../runtime.js";
import { createLlamaCppRuntime } from "./llama-cpp-runtime.js";

const THREADS = 2;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

let directory = "";
let modelPath = "";
let runtime: LanguageModelRuntime | undefined;
let vocabularyLlama: Llama | undefined;
let vocabulary: LlamaModel | undefined;
const progress: ProgressEvent[] = [];
/** Why the tests cannot run here (no prebuilt node-llama-cpp binary for this platform), or null. */
let unavailable: string | null = null;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), "helexa-llama-cpp-"));
  modelPath = join(directory, "tiny-test.gguf");
  await generateTinyModel({ path: modelPath, seed: 7, preset: "test" });
  try {
    vocabularyLlama = await getLlama({ build: "never", gpu: false });
  } catch (error) {
    unavailable = `no usable node-llama-cpp binary: ${(error as Error).message}`;
    return;
  }
  // A second, independent view of the tokenizer, to check the runtime's token counts against.
  vocabulary = await vocabularyLlama.loadModel({ modelPath, vocabOnly: true });
  runtime = await createLlamaCppRuntime({
    models: [{ id: "tiny", path: modelPath }],
    threads: THREADS,
    onProgress: (event) => progress.push(event),
  });
});

after(async () => {
  await runtime?.[Symbol.asyncDispose]();
  await vocabularyLlama?.dispose();
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** The runtime, or a skip (a failure on CI) where node-llama-cpp cannot run. */
function ready(t: { skip: (message: string) => void }): LanguageModelRuntime | null {
  if (unavailable === null) return runtime!;
  if (process.env.CI === "true") assert.fail(unavailable);
  t.skip(unavailable);
  return null;
}

function chat(content: string, sampling: Sampling = {}, system?: string): GenerationRequest {
  const messages: Array<{ role: "system" | "user"; content: string }> = system
    ? [
        { role: "system", content: system },
        { role: "user", content },
      ]
    : [{ role: "user", content }];
  return {
    model: "tiny",
    input: { kind: "chat", messages },
    sampling: { temperature: 0, maxTokens: 24, ...sampling },
  };
}

async function collect(
  target: LanguageModelRuntime,
  request: GenerationRequest,
  abortSignal?: AbortSignal,
): Promise<{ parts: StreamPart[]; text: string; end: StreamPart }> {
  const parts: StreamPart[] = [];
  for await (const part of target.doStream(abortSignal ? { request, abortSignal } : { request }))
    parts.push(part);
  const text = parts.map((part) => (part.type === "text-delta" ? part.text : "")).join("");
  const end = parts.at(-1)!;
  assert.notEqual(end.type, "text-delta", "a stream ends with a finish or an error");
  return { parts, text, end };
}

/** A copy of the tiny model with metadata keys or tensors left out; tensor data is zeros of the right size. */
async function writeVariant(options: { name: string; dropKeys?: string[]; dropTensors?: string[] }) {
  const header = await readGgufHeader(modelPath);
  const metadata = [...header.metadata].filter(([key]) => !options.dropKeys?.includes(key));
  const tensors: GgufTensorInput[] = header.tensors
    .filter((tensor) => !options.dropTensors?.includes(tensor.name))
    .map((tensor) => ({
      name: tensor.name,
      dimensions: tensor.dimensions,
      type: tensor.typeName as GgufTensorInput["type"],
      data: new Float32Array(tensor.dimensions.reduce((product, dimension) => product * dimension, 1)),
    }));
  const path = join(directory, options.name);
  await writeGguf({ path, metadata, tensors });
  return path;
}

async function rejectsAsInvalid(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(
    createLlamaCppRuntime({ models: [{ id: "broken", path }], threads: THREADS }),
    (error) => {
      assert.ok(HelexaError.is(error), `a HelexaError, got ${error}`);
      assert.equal(error.code, "model_invalid");
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test("describes itself and reported load progress up to 1", (t) => {
  const target = ready(t);
  if (!target) return;
  assert.equal(target.kind, "llama-cpp");
  assert.match(target.engine, /^node-llama-cpp 3\.\d+\.\d+ /);
  assert.equal(target.slots, 1);
  const [model] = target.models();
  assert.deepEqual(target.models(), [{ id: "tiny", contextLength: 2048, sizeBytes: model?.sizeBytes }]);
  assert.ok((model?.sizeBytes ?? 0) > 0, "the file's size counts against a neuron's memory budget");
  assert.ok(
    progress.length > 0 && progress.every((event) => event.phase === "load" && event.label === "tiny"),
  );
  assert.equal(progress.at(-1)?.fraction, 1);
});

test("greedy chat is identical twice and across separate runtime instances", async (t) => {
  const target = ready(t);
  if (!target) return;
  const request = chat("Tell me about the fabric.", { maxTokens: 32 });
  const first = await target.doGenerate({ request });
  const second = await target.doGenerate({ request });
  assert.equal(second.text, first.text);
  assert.ok(first.text.length > 10);
  await using other = await createLlamaCppRuntime({
    models: [{ id: "tiny", path: modelPath }],
    threads: THREADS,
  });
  assert.deepEqual(await other.doGenerate({ request }), first);
});

test("greedy output is printable ASCII (so valid UTF-8) and varied for many prompts; sampled output too", async (t) => {
  const target = ready(t);
  if (!target) return;
  const prompts = [
    "Hi",
    "What is 2+2?",
    "Écris un poème ☃",
    "",
    "zzz",
    "Tell me a story.",
    "<|im_end|>",
    "\n\n",
  ];
  for (const prompt of prompts) {
    const { text } = await target.doGenerate({ request: chat(prompt) });
    assert.match(
      text,
      PRINTABLE_ASCII,
      `greedy answer to ${JSON.stringify(prompt)}: ${JSON.stringify(text)}`,
    );
    assert.ok(new Set(text).size >= 6, `varied: ${JSON.stringify(text)}`);
  }
  for (const seed of [1, 2, 3, 4]) {
    const { text } = await target.doGenerate({ request: chat("Hello", { temperature: 1, seed }) });
    assert.match(text, PRINTABLE_ASCII, `sampled with seed ${seed}: ${JSON.stringify(text)}`);
  }
});

test("sampling with a seed repeats; another seed differs", async (t) => {
  const target = ready(t);
  if (!target) return;
  const sampled = async (seed: number) =>
    (await target.doGenerate({ request: chat("Hello", { temperature: 1, topP: 0.9, seed }) })).text;
  assert.equal(await sampled(11), await sampled(11));
  assert.notEqual(await sampled(11), await sampled(12));
});

test("prompt tokens are exactly the templated prompt's tokens; completion tokens the tokens generated", async (t) => {
  const target = ready(t);
  if (!target) return;
  const templated =
    "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n";
  const { parts, end } = await collect(target, chat("Hello there", { maxTokens: 17 }, "Be brief."));
  assert.deepEqual(end, {
    type: "finish",
    finishReason: "length",
    usage: { promptTokens: vocabulary!.tokenize(templated, true).length, completionTokens: 17 },
  });
  let previous = 0;
  for (const part of parts) {
    if (part.type !== "text-delta") continue;
    assert.ok(part.usage, "every delta carries the usage so far");
    assert.equal(part.usage.promptTokens, end.type === "finish" ? end.usage.promptTokens : -1);
    assert.ok(part.usage.completionTokens > previous, "completion tokens grow with each delta");
    previous = part.usage.completionTokens;
  }
  assert.ok(previous <= 17);

  const prompt = "The fabric is a simple idea. Many people";
  const completion = await target.doGenerate({
    request: { model: "tiny", input: { kind: "text", prompt }, sampling: { temperature: 0, maxTokens: 5 } },
  });
  assert.deepEqual(completion.usage, {
    promptTokens: vocabulary!.tokenize(prompt, true).length,
    completionTokens: 5,
  });
  assert.equal(completion.finishReason, "length");
});

test("streamed deltas add up to the doGenerate text", async (t) => {
  const target = ready(t);
  if (!target) return;
  const request = chat("Stream this, please.", { maxTokens: 40 });
  const { parts, text, end } = await collect(target, request);
  assert.ok(parts.filter((part) => part.type === "text-delta").length > 5, "text arrives in pieces");
  const generated = await target.doGenerate({ request });
  assert.equal(text, generated.text);
  assert.deepEqual(end, { type: "finish", finishReason: generated.finishReason, usage: generated.usage });
});

test("a stop string ends the answer before it, and its text is not sent", async (t) => {
  const target = ready(t);
  if (!target) return;
  const full = (await target.doGenerate({ request: chat("Where do I stop?", { maxTokens: 40 }) })).text;
  const stop = full.slice(15, 19);
  const expected = full.slice(0, full.indexOf(stop));
  const stopped = await target.doGenerate({
    request: chat("Where do I stop?", { maxTokens: 40, stop: [stop] }),
  });
  assert.equal(stopped.finishReason, "stop");
  assert.equal(stopped.text, expected);
  assert.ok(stopped.usage.completionTokens < 40);
});

test("deltas carry the ids of the tokens that spell them; a job resumed from any cut goes on with the same text and usage", async (t) => {
  const target = ready(t);
  if (!target || !vocabulary) return;
  const request = chat("Tell me how the fabric carries a job.", { maxTokens: 40 });
  const whole = await collect(target, request);
  assert.equal(whole.end.type, "finish");
  const deltas = whole.parts.filter((part) => part.type === "text-delta");
  const tokens = deltas.flatMap((part) => part.tokens ?? []);
  assert.ok(deltas.every((part) => part.tokens && part.tokens.length > 0));
  assert.equal(vocabulary.detokenize(tokens as never[]), whole.text);
  for (const cut of [1, Math.floor(deltas.length / 2), deltas.length - 1]) {
    const before = deltas.slice(0, cut);
    const resumed = await collect(target, {
      ...request,
      resume: { tokens: before.flatMap((part) => part.tokens ?? []) },
    });
    const sent = before.map((part) => part.text).join("");
    assert.equal(sent + resumed.text, whole.text, `cut after ${cut} deltas`);
    assert.deepEqual(resumed.end, whole.end, "same finish reason and the whole job's usage");
  }
});

test("aborting mid-stream finishes as cancelled at once and frees the slot", async (t) => {
  const target = ready(t);
  if (!target) return;
  const controller = new AbortController();
  let abortedAt = 0;
  let deltas = 0;
  let end: StreamPart | undefined;
  for await (const part of target.doStream({
    request: chat("Go on forever.", { maxTokens: 1500 }),
    abortSignal: controller.signal,
  })) {
    if (part.type === "text-delta" && ++deltas === 3) {
      abortedAt = performance.now();
      controller.abort();
    } else if (part.type !== "text-delta") {
      end = part;
      assert.ok(performance.now() - abortedAt < 1000, "the finish follows the abort promptly");
    }
  }
  assert.equal(end?.type, "finish");
  assert.equal(end.type === "finish" && end.finishReason, "cancelled");
  assert.ok(end.type === "finish" && end.usage.completionTokens >= 3 && end.usage.completionTokens < 50);
  // With one slot, this only completes if the cancelled generation gave its sequence back.
  const next = await target.doGenerate({ request: chat("Hello", { maxTokens: 3 }) });
  assert.equal(next.usage.completionTokens, 3);
});

test("a request waiting for a slot can be aborted, and an already aborted one never starts", async (t) => {
  const target = ready(t);
  if (!target) return;
  const holder = new AbortController();
  const running = collect(target, chat("Hold the slot.", { maxTokens: 1500 }), holder.signal);
  const waiter = new AbortController();
  const waiting = collect(target, chat("Wait for it."), waiter.signal);
  setTimeout(() => waiter.abort(), 50);
  assert.deepEqual((await waiting).end, {
    type: "finish",
    finishReason: "cancelled",
    usage: { promptTokens: 0, completionTokens: 0 },
  });
  holder.abort();
  assert.equal((await running).end.type, "finish");
  const early = await collect(target, chat("Never mind."), AbortSignal.abort());
  assert.equal(early.end.type === "finish" && early.end.finishReason, "cancelled");
  assert.equal(early.text, "");
});

test("two slots serve two generations at once with the same answers as one at a time", async (t) => {
  if (!ready(t)) return;
  await using parallel = await createLlamaCppRuntime({
    models: [{ id: "tiny", path: modelPath }],
    threads: THREADS,
    slots: 2,
  });
  const requests = [chat("First question"), chat("Second question")];
  const alone = [];
  for (const request of requests) alone.push(await parallel.doGenerate({ request }));
  const together = await Promise.all(requests.map((request) => parallel.doGenerate({ request })));
  assert.deepEqual(together, alone);
});

test("an unknown model and an over-long prompt are reported as stream errors", async (t) => {
  const target = ready(t);
  if (!target) return;
  const unknown = await collect(target, { ...chat("Hi"), model: "nope" });
  assert.ok(unknown.end.type === "error" && unknown.end.error.code === "model_not_found");
  await assert.rejects(
    target.doGenerate({ request: { ...chat("Hi"), model: "nope" } }),
    /nope is not loaded/,
  );
  const tooLong = await collect(target, {
    model: "tiny",
    input: { kind: "text", prompt: " x".repeat(3000) },
    sampling: { maxTokens: 1 },
  });
  assert.ok(tooLong.end.type === "error" && tooLong.end.error.code === "invalid_request");
  assert.match(tooLong.end.type === "error" ? tooLong.end.error.message : "", /holds 2048 tokens/);
});

test("an end-of-turn token ends the answer as stop, counted but not sent", async (t) => {
  if (!ready(t)) return;
  // Make <|im_end|> outscore every printable token: its output row's anchor weight twice theirs.
  const header = await readGgufHeader(modelPath);
  const output = header.tensors.find((tensor) => tensor.name === "output.weight")!;
  const width = output.dimensions[0]!;
  const tokens = header.metadata.get("tokenizer.ggml.tokens")!.value as string[];
  const bytes = await readFile(modelPath);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const rowStart = (token: number) => header.dataOffset + output.offset + token * width * 2;
  const printableWeight = float16BitsToFloat32(view.getUint16(rowStart("A".charCodeAt(0)), true));
  view.setUint16(rowStart(tokens.indexOf("<|im_end|>")), float32ToFloat16Bits(2 * printableWeight), true);
  const path = join(directory, "ends-at-once.gguf");
  await writeFile(path, bytes);
  await using ending = await createLlamaCppRuntime({ models: [{ id: "tiny", path }], threads: THREADS });
  assert.deepEqual(await ending.doGenerate({ request: chat("Hello", { maxTokens: 10 }) }), {
    text: "",
    finishReason: "stop",
    usage: {
      promptTokens: vocabulary!.tokenize("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", true)
        .length,
      completionTokens: 1,
    },
  });
});

test("broken model files are refused as model_invalid without taking the process down", async (t) => {
  if (!ready(t)) return;
  // llama.cpp meets a missing feed_forward_length with GGML_ASSERT, which would abort this test process.
  await rejectsAsInvalid(
    await writeVariant({ name: "no-ff.gguf", dropKeys: ["llama.feed_forward_length"] }),
    /missing the metadata key llama\.feed_forward_length/,
  );
  await rejectsAsInvalid(
    await writeVariant({ name: "no-heads.gguf", dropKeys: ["llama.attention.head_count"] }),
    /llama\.attention\.head_count/,
  );
  const cut = join(directory, "cut.gguf");
  await writeFile(cut, await readFile(modelPath));
  await truncate(cut, 500_000);
  await rejectsAsInvalid(cut, /but the file has only 500000 bytes/);
  const garbage = join(directory, "garbage.gguf");
  await writeFile(garbage, "<html>not a model</html>");
  await rejectsAsInvalid(garbage, /not a GGUF file/);
  await rejectsAsInvalid(join(directory, "absent.gguf"), /does not exist/);
  // Passes the header check; llama.cpp itself refuses it. Its reason ("missing tensor") is taken from its log
  // where this runtime's logger receives it, which is not certain when other Llama instances share the process.
  await rejectsAsInvalid(
    await writeVariant({ name: "no-norm.gguf", dropTensors: ["output_norm.weight"] }),
    /^llama\.cpp could not load model broken \(.*no-norm\.gguf\): /,
  );
});

test("the bench preset generates 128 printable tokens greedily (prints its speed)", async (t) => {
  if (!ready(t)) return;
  const path = join(directory, "tiny-bench.gguf");
  const info = await generateTinyModel({ path, seed: 1, preset: "bench" });
  await using bench = await createLlamaCppRuntime({ models: [{ id: "tiny", path }], threads: THREADS });
  await bench.doGenerate({ request: chat("Warm up", { maxTokens: 8 }) });
  const started = performance.now();
  const result = await bench.doGenerate({ request: chat("Benchmark this.", { maxTokens: 128 }) });
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(
    `bench preset (${(info.parameters / 1e6).toFixed(1)}M parameters, q8_0, ${THREADS} threads): ` +
      `${(128 / seconds).toFixed(0)} tokens/s including a ${result.usage.promptTokens}-token prompt`,
  );
  assert.equal(result.finishReason, "length");
  assert.equal(result.usage.completionTokens, 128);
  assert.match(result.text, PRINTABLE_ASCII);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Model-dependent tests of loading and unloading models while the llama-cpp runtime serves (started with none).

import assert from "node:assert/strict";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateTinyModel } from "@helexa/gguf";
import { type GenerationRequest, HelexaError } from "@helexa/protocol";
import type { LanguageModelRuntime, ProgressEvent, StreamPart } from "../runtime.js";
import { createLlamaCppRuntime } from "./llama-cpp-runtime.js";

let directory = "";
let firstPath = "";
let secondPath = "";
let runtime: LanguageModelRuntime | undefined;
let unavailable: string | null = null;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), "helexa-model-loading-"));
  firstPath = join(directory, "first.gguf");
  secondPath = join(directory, "second.gguf");
  await generateTinyModel({ path: firstPath, seed: 7, preset: "test" });
  await generateTinyModel({ path: secondPath, seed: 8, preset: "test" });
  try {
    runtime = await createLlamaCppRuntime({ models: [], threads: 2, gpu: false, onLog: () => {} });
  } catch (error) {
    unavailable = `no usable node-llama-cpp binary: ${(error as Error).message}`;
  }
});

after(async () => {
  await runtime?.[Symbol.asyncDispose]();
  if (directory) await rm(directory, { recursive: true, force: true });
});

function ready(t: { skip: (message: string) => void }): LanguageModelRuntime | null {
  if (unavailable === null) return runtime!;
  if (process.env.CI === "true") assert.fail(unavailable);
  t.skip(unavailable);
  return null;
}

function chat(model: string, maxTokens = 8): GenerationRequest {
  return {
    model,
    input: { kind: "chat", messages: [{ role: "user", content: "Say something." }] },
    sampling: { temperature: 0, maxTokens },
  };
}

async function collect(target: LanguageModelRuntime, request: GenerationRequest): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of target.doStream({ request })) parts.push(part);
  return parts;
}

test("starts with no model, loads two while serving, with load progress and each file's size", async (t) => {
  const target = ready(t);
  if (!target) return;
  assert.deepEqual(target.models(), []);
  const progress: ProgressEvent[] = [];
  const first = await target.loadModel!({ id: "first", path: firstPath }, (event) => progress.push(event));
  assert.deepEqual(first, { id: "first", contextLength: 2048, sizeBytes: (await stat(firstPath)).size });
  assert.ok(
    progress.length > 0 && progress.every((event) => event.phase === "load" && event.label === "first"),
  );
  assert.equal(progress.at(-1)?.fraction, 1);
  assert.equal(progress.at(-1)?.bytes?.total, first.sizeBytes);

  // Loading it again (or twice at once) is the same model, loaded once.
  const [again, twice] = await Promise.all([
    target.loadModel!({ id: "first", path: firstPath }),
    target.loadModel!({ id: "first", path: firstPath }),
  ]);
  assert.deepEqual(again, first);
  assert.deepEqual(twice, first);

  const second = await target.loadModel!({ id: "second", path: secondPath, contextLength: 512 });
  assert.equal(second.contextLength, 512);
  assert.deepEqual(
    target.models().map((model) => model.id),
    ["first", "second"],
  );
  for (const id of ["first", "second"]) {
    const end = (await collect(target, chat(id))).at(-1);
    assert.equal(end?.type, "finish", `model ${id} serves`);
  }
});

test("an unload waits for the generation running on the model; new ones fail at once", async (t) => {
  const target = ready(t);
  if (!target) return;
  await target.loadModel!({ id: "first", path: firstPath });
  const iterator = target.doStream({ request: chat("first", 64) })[Symbol.asyncIterator]();
  const firstPart = await iterator.next();
  assert.equal(firstPart.value?.type, "text-delta", "the generation is under way");

  let unloaded = false;
  const unload = target.unloadModel!("first").then(() => {
    unloaded = true;
  });
  // Gone from the list at once, so nothing new is placed on it...
  assert.ok(!target.models().some((model) => model.id === "first"));
  const refused = (await collect(target, chat("first"))).at(-1);
  assert.equal(refused?.type, "error");
  assert.equal(refused?.type === "error" ? refused.error.code : null, "model_not_found");
  // ...while the running generation goes on to its end, and only then is the model freed.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(unloaded, false, "the unload waits for the running generation");
  let end: StreamPart | undefined;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    end = next.value;
  }
  assert.equal(end?.type, "finish");
  await unload;
  assert.equal(unloaded, true);

  // And it loads again.
  await target.loadModel!({ id: "first", path: firstPath });
  assert.equal((await collect(target, chat("first"))).at(-1)?.type, "finish");
});

test("a broken file is refused as model_invalid and leaves the loaded models serving", async (t) => {
  const target = ready(t);
  if (!target) return;
  const broken = join(directory, "broken.gguf");
  await writeFile(broken, "not a gguf file at all");
  await assert.rejects(target.loadModel!({ id: "broken", path: broken }), (error) => {
    assert.ok(HelexaError.is(error));
    assert.equal(error.code, "model_invalid");
    assert.match(error.message, /model broken/);
    return true;
  });
  assert.ok(!target.models().some((model) => model.id === "broken"));
  await target.loadModel!({ id: "second", path: secondPath });
  assert.equal((await collect(target, chat("second"))).at(-1)?.type, "finish");
  // Unloading what is not loaded does nothing.
  await target.unloadModel!("never-loaded");
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The engine worker in Debian's Chromium: wllama on generated models against node-llama-cpp, the model store, detection, WebLLM offline.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { generateTinyModel } from "@helexa/gguf";
import type { GenerationRequest, Sampling } from "@helexa/protocol";
import type { LanguageModelRuntime, ProgressEvent, StreamPart } from "@helexa/runtime";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import type { BrowserContext, Page } from "playwright-core";
import { LONE_CONTINUATION_BYTES, SPLIT_CHARACTERS, writeBigramModel } from "./__fixtures__/bigram-model.js";
import { chromiumMissing, launchChromium } from "./__fixtures__/chromium.js";
import { type EngineTestServer, startEngineTestServer } from "./__fixtures__/engine-test-server.js";
import { GreedyReference } from "./__fixtures__/greedy-reference.js";
import type { BrowserModel, EnginePreferences, EngineReady } from "./engine-messages.js";

const bundleDirectory = fileURLToPath(new URL("./browser/", import.meta.url));
const missing = chromiumMissing();

interface LoadOutcome {
  ready?: EngineReady;
  error?: { code: string; message: string };
  progress: ProgressEvent[];
  kind?: string;
  engine?: string;
  models?: Array<{ id: string; contextLength: number }>;
}
interface GenerateOutcome {
  parts: StreamPart[];
  elapsedMs: number;
  finishAfterAbortMs: number | null;
  ticks: number;
  longestGapMs: number;
}

let directory = "";
let tinyBytes: Buffer;
let tinySha256 = "";
let splitBytes: Buffer;
let native: LanguageModelRuntime | undefined;
let reference: GreedyReference | undefined;
let expectWllamaFailure = false;
/** The tab's own greedy answers, which it must give again after a reload or another download. */
const browserAnswers = new Map<string, string>();
let server: EngineTestServer | undefined;
let browser: (BrowserContext & AsyncDisposable) | undefined;
let page: Page;

before(async () => {
  if (missing) return;
  directory = await mkdtemp(join(tmpdir(), "helexa-browser-engine-"));
  const tinyPath = join(directory, "tiny.gguf");
  const splitPath = join(directory, "split.gguf");
  await generateTinyModel({ path: tinyPath, seed: 7, preset: "test" });
  await writeBigramModel({ from: tinyPath, path: splitPath, next: SPLIT_CHARACTERS });
  const lonePath = join(directory, "lone.gguf");
  await writeBigramModel({ from: tinyPath, path: lonePath, next: LONE_CONTINUATION_BYTES });
  tinyBytes = await readFile(tinyPath);
  splitBytes = await readFile(splitPath);
  tinySha256 = createHash("sha256").update(tinyBytes).digest("hex");
  // The reference: the same files in the native runtime the fabric's neurons run.
  native = await createLlamaCppRuntime({
    models: [
      { id: "tiny", path: tinyPath },
      { id: "split", path: splitPath },
    ],
    threads: 1,
    onLog: () => {},
  });
  reference = await GreedyReference.open(tinyPath);
  server = await startEngineTestServer({ bundleDirectory });
  for (const name of [
    "tiny",
    "tiny-reload",
    "tiny-cut",
    "tiny-bad-sum",
    "tiny-big",
    "tiny-webllm",
    "tiny-abort",
  ])
    server.addFile(`/models/${name}.gguf`, tinyBytes);
  server.addFile("/models/split.gguf", splitBytes);
  server.addFile("/models/lone.gguf", await readFile(lonePath));
  browser = await launchChromium({ webgpu: true });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // The test that makes wllama fail on purpose expects its complaints.
    if (expectWllamaFailure && message.text().startsWith("[wllama]")) return;
    process.stderr.write(`[chromium] ${message.text()}\n`);
  });
  await openPage();
});

after(async () => {
  await browser?.[Symbol.asyncDispose]();
  await server?.[Symbol.asyncDispose]();
  await native?.[Symbol.asyncDispose]();
  await reference?.[Symbol.asyncDispose]();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function openPage(): Promise<void> {
  await page.goto(`${server!.origin}/`);
  await page.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
}

function skipWithoutChromium(t: { skip: (message: string) => void }): boolean {
  if (!missing) return false;
  t.skip(missing);
  return true;
}

function model(name: string, extra: Partial<BrowserModel> = {}): BrowserModel {
  return { id: "tiny", url: `${server!.origin}/models/${name}.gguf`, ...extra };
}

function load(target: BrowserModel, preferences?: EnginePreferences): Promise<LoadOutcome> {
  return page.evaluate(
    ([modelArgument, preferencesArgument]) =>
      (window as unknown as { harness: { load: (...args: unknown[]) => Promise<LoadOutcome> } }).harness.load(
        modelArgument,
        preferencesArgument,
      ),
    [target, preferences] as const,
  );
}

function generate(
  request: GenerationRequest,
  options: { abortAfterDeltas?: number; measureTicks?: boolean } = {},
): Promise<GenerateOutcome> {
  return page.evaluate(
    ([requestArgument, optionsArgument]) =>
      (
        window as unknown as { harness: { generate: (...args: unknown[]) => Promise<GenerateOutcome> } }
      ).harness.generate(requestArgument, optionsArgument),
    [request, options] as const,
  );
}

function harness<T>(name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([method, list]) =>
      (window as unknown as { harness: Record<string, (...values: unknown[]) => Promise<unknown>> }).harness[
        method
      ]!(...(list as unknown[])),
    [name, args] as const,
  ) as Promise<T>;
}

function chat(content: string, sampling: Sampling = {}, id = "tiny"): GenerationRequest {
  return {
    model: id,
    input: { kind: "chat", messages: [{ role: "user", content }] },
    sampling: { temperature: 0, maxTokens: 32, ...sampling },
  };
}

function textOf(parts: StreamPart[]): string {
  return parts.map((part) => (part.type === "text-delta" ? part.text : "")).join("");
}

async function nativeParts(request: GenerationRequest): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of native!.doStream({ request })) parts.push(part);
  return parts;
}

/** The text the model reads for a request: the tiny model's ChatML template, or the prompt as it is. */
function promptText(request: GenerationRequest): string {
  if (request.input.kind === "text") return request.input.prompt;
  const turns = request.input.messages.map(
    (message) => `<|im_start|>${message.role}\n${message.content}<|im_end|>\n`,
  );
  return `${turns.join("")}<|im_start|>assistant\n`;
}

/** Greedy text as node-llama-cpp's up to a near-tie (see GreedyReference), with exactly its finish and usage. */
async function assertGreedyLikeNative(
  t: { diagnostic: (message: string) => void },
  request: GenerationRequest,
  parts: StreamPart[],
): Promise<void> {
  const text = textOf(parts);
  const comparison = await reference!.compare({
    prompt: promptText(request),
    other: text,
    maxTokens: request.sampling.maxTokens ?? 32,
  });
  t.diagnostic(
    comparison.tie
      ? `${JSON.stringify(promptText(request).slice(-40))}: the first ${comparison.matchingTokens} tokens are node-llama-cpp's, ` +
          `then a near-tie: ${JSON.stringify(comparison.tie.native)} p=${comparison.tie.nativeProbability.toFixed(5)} ` +
          `there, ${JSON.stringify(comparison.tie.other)} p=${comparison.tie.otherProbability.toFixed(5)} here`
      : `${JSON.stringify(promptText(request).slice(-40))}: all ${comparison.matchingTokens} tokens are node-llama-cpp's`,
  );
  assert.deepEqual(parts.at(-1), (await nativeParts(request)).at(-1), "same finish reason and exact usage");
}

test("without an MLC build, SwiftShader's WebGPU adapter is reported and wllama is chosen with the reason", async (t) => {
  if (skipWithoutChromium(t)) return;
  const plain = await harness<{
    engine: string;
    reason: string;
    adapter: { name: string; fallback: boolean };
  }>("detect", model("tiny"));
  assert.equal(plain.engine, "wllama");
  assert.equal(plain.adapter.name, "google swiftshader");
  assert.equal(plain.adapter.fallback, true);
  assert.equal(
    plain.reason,
    "WebGPU adapter google swiftshader (software) found but model tiny has no MLC build; wllama runs it on the CPU",
  );
  const mlc = {
    modelUrl: `${server!.origin}/webllm/tiny/`,
    modelLibraryUrl: `${server!.origin}/webllm/tiny.wasm`,
  };
  const needsF16 = await harness<{ engine: string; reason: string }>(
    "detect",
    model("tiny", { mlc: { ...mlc, requiredFeatures: ["shader-f16"] } }),
  );
  assert.equal(needsF16.engine, "wllama");
  assert.match(needsF16.reason, /lacks shader-f16, which the MLC build of model tiny needs/);
  const runs = await harness<{ engine: string; reason: string }>("detect", model("tiny", { mlc }));
  assert.equal(runs.engine, "webllm");
  assert.match(runs.reason, /has an MLC build: WebLLM runs it on the GPU/);
});

test("the worker downloads and loads the tiny model, reporting download and load progress", async (t) => {
  if (skipWithoutChromium(t)) return;
  const outcome = await load(model("tiny", { sha256: tinySha256, sizeBytes: tinyBytes.length }));
  assert.equal(outcome.error, undefined, JSON.stringify(outcome.error));
  const ready = outcome.ready!;
  assert.equal(ready.engine, "wllama");
  assert.match(ready.reason, /swiftshader.*no MLC build/);
  assert.equal(ready.adapter?.name, "google swiftshader");
  assert.deepEqual(ready.model, { id: "tiny", contextLength: 2048 });
  assert.equal(ready.fromStorage, false);
  assert.match(ready.description, /^wllama \(llama\.cpp b\d+-[0-9a-f]+\) WebAssembly, 1 thread$/);
  assert.equal(outcome.kind, "wllama");
  assert.deepEqual(outcome.models, [{ id: "tiny", contextLength: 2048 }]);

  const downloads = outcome.progress.filter((event) => event.phase === "download");
  const loads = outcome.progress.filter((event) => event.phase === "load");
  assert.ok(downloads.length >= 2, "download progress starts and ends");
  assert.deepEqual(downloads.at(-1)?.bytes, { done: tinyBytes.length, total: tinyBytes.length });
  assert.equal(downloads.at(-1)?.fraction, 1);
  assert.ok(loads.length >= 3, `load progress in steps: ${JSON.stringify(loads)}`);
  assert.equal(loads[0]?.fraction, 0);
  assert.equal(loads.at(-1)?.fraction, 1);
  assert.ok(
    loads.some((event) => event.fraction !== null && event.fraction > 0 && event.fraction < 1),
    "the load reports how far llama.cpp has read the file",
  );
  const fractions = loads.map((event) => event.fraction ?? 0);
  assert.deepEqual(
    [...fractions].sort((left, right) => left - right),
    fractions,
    "load progress only grows",
  );
  assert.equal(server!.requestsFor("/models/tiny.gguf").length, 1);
});

test("greedy chat streams node-llama-cpp's text, usage and finish for the same model and prompt", async (t) => {
  if (skipWithoutChromium(t)) return;
  for (const request of [
    chat("Tell me about the fabric."),
    chat("Hi", { maxTokens: 48 }),
    {
      model: "tiny",
      input: {
        kind: "chat",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hello there" },
        ],
      },
      sampling: { temperature: 0, maxTokens: 17 },
    } satisfies GenerationRequest,
  ]) {
    const { parts } = await generate(request);
    assert.ok(parts.filter((part) => part.type === "text-delta").length > 5, "the text streams in pieces");
    await assertGreedyLikeNative(t, request, parts);
    browserAnswers.set(JSON.stringify(request), textOf(parts));
  }
});

test("every delta carries the usage so far, growing with each token", async (t) => {
  if (skipWithoutChromium(t)) return;
  const { parts } = await generate(chat("Count with me.", { maxTokens: 20 }));
  const end = parts.at(-1)!;
  assert.equal(end.type, "finish");
  assert.equal(end.type === "finish" && end.finishReason, "length");
  let previous = 0;
  for (const part of parts) {
    if (part.type !== "text-delta") continue;
    assert.ok(part.usage, "a delta carries usage");
    assert.equal(part.usage.promptTokens, end.type === "finish" ? end.usage.promptTokens : -1);
    assert.ok(part.usage.completionTokens > previous);
    previous = part.usage.completionTokens;
  }
  assert.equal(previous, 20);
});

test("a text completion matches node-llama-cpp too, and special tokens in a completion prompt are honoured", async (t) => {
  if (skipWithoutChromium(t)) return;
  const request: GenerationRequest = {
    model: "tiny",
    input: { kind: "text", prompt: "<|im_start|>user\nWhat is a neuron?<|im_end|>\n<|im_start|>assistant\n" },
    sampling: { temperature: 0, maxTokens: 24 },
  };
  await assertGreedyLikeNative(t, request, (await generate(request)).parts);
});

test("a stop string ends the answer before it, and its text is never sent", async (t) => {
  if (skipWithoutChromium(t)) return;
  const full = textOf((await generate(chat("Where do I stop?", { maxTokens: 40 }))).parts);
  const stop = full.slice(15, 19);
  const { parts } = await generate(chat("Where do I stop?", { maxTokens: 40, stop: [stop] }));
  assert.equal(textOf(parts), full.slice(0, full.indexOf(stop)));
  const end = parts.at(-1)!;
  assert.ok(end.type === "finish" && end.finishReason === "stop", JSON.stringify(end));
  assert.ok(end.type === "finish" && end.usage.completionTokens < 40);
  assert.ok(!parts.some((part) => part.type === "text-delta" && part.text.includes(stop)));
});

test("cancelling mid-stream finishes as cancelled with the usage so far, and the next request runs", async (t) => {
  if (skipWithoutChromium(t)) return;
  const cancelled = await generate(chat("Go on forever.", { maxTokens: 1500 }), { abortAfterDeltas: 3 });
  const end = cancelled.parts.at(-1)!;
  assert.equal(end.type, "finish");
  assert.equal(end.type === "finish" && end.finishReason, "cancelled");
  assert.ok(end.type === "finish" && end.usage.completionTokens >= 3 && end.usage.completionTokens < 100);
  assert.ok(
    cancelled.finishAfterAbortMs! < 1000,
    `finish ${cancelled.finishAfterAbortMs} ms after the abort`,
  );
  const next = await generate(chat("Hello", { maxTokens: 3 }));
  assert.deepEqual(next.parts.at(-1), (await nativeParts(chat("Hello", { maxTokens: 3 }))).at(-1));
});

test("the page stays responsive while the worker generates", async (t) => {
  if (skipWithoutChromium(t)) return;
  const outcome = await generate(chat("Keep talking.", { maxTokens: 400 }), { measureTicks: true });
  const end = outcome.parts.at(-1)!;
  assert.equal(end.type === "finish" && end.usage.completionTokens, 400);
  t.diagnostic(
    `400 tokens in ${Math.round(outcome.elapsedMs)} ms (${Math.round(400 / (outcome.elapsedMs / 1000))} tokens/s ` +
      `in the page, test model); a 10 ms timer ticked ${outcome.ticks} times, longest gap ${Math.round(outcome.longestGapMs)} ms`,
  );
  assert.ok(outcome.longestGapMs < 250, `the page's timer stalled for ${outcome.longestGapMs} ms`);
  assert.ok(outcome.ticks >= outcome.elapsedMs / 10 / 4, "the page's timer kept ticking during generation");
});

test("unknown models and resumes are refused as stream errors", async (t) => {
  if (skipWithoutChromium(t)) return;
  const unknown = await generate({ ...chat("Hi"), model: "nope" });
  assert.deepEqual(unknown.parts, [
    { type: "error", error: { code: "model_not_found", message: "model nope is not loaded here" } },
  ]);
  const resumed = await generate({ ...chat("Hi"), resume: { tokens: [1, 2, 3] } });
  assert.equal(resumed.parts.length, 1);
  assert.equal(resumed.parts[0]!.type === "error" && resumed.parts[0]!.error.code, "invalid_request");
});

test("characters split across tokens stream whole, as node-llama-cpp sends them", async (t) => {
  if (skipWithoutChromium(t)) return;
  const outcome = await load({ id: "split", url: `${server!.origin}/models/split.gguf` });
  assert.equal(outcome.error, undefined, JSON.stringify(outcome.error));
  const request = chat("Hi", { maxTokens: 20 }, "split");
  const { parts } = await generate(request);
  const text = textOf(parts);
  assert.equal(text, textOf(await nativeParts(request)));
  assert.ok(text.startsWith("é€ é€ "), JSON.stringify(text));
  for (const part of parts) {
    if (part.type === "text-delta") assert.doesNotMatch(part.text, /\uFFFD/, "no broken character is sent");
  }
  assert.deepEqual(parts.at(-1), (await nativeParts(request)).at(-1));
});

test("invalid UTF-8 from a model fails only that text completion; wllama starts again for the next", async (t) => {
  if (skipWithoutChromium(t)) return;
  const outcome = await load({ id: "lone", url: `${server!.origin}/models/lone.gguf` });
  assert.equal(outcome.error, undefined, JSON.stringify(outcome.error));
  // The chat path shows the byte as U+FFFD; llama-server's text completion path cannot encode it at all.
  const chatted = await generate(chat("Hi", { maxTokens: 4 }, "lone"));
  assert.equal(textOf(chatted.parts), "\uFFFDA\uFFFDA");
  const text: GenerationRequest = {
    model: "lone",
    input: { kind: "text", prompt: "A" },
    sampling: { maxTokens: 4 },
  };
  expectWllamaFailure = true;
  const failed = (await generate(text)).parts.at(-1);
  expectWllamaFailure = false;
  assert.ok(failed?.type === "error" && failed.error.code === "internal", JSON.stringify(failed));
  const next = await generate(chat("Hi again", { maxTokens: 4 }, "lone"));
  assert.deepEqual(next.parts.at(-1), {
    type: "finish",
    finishReason: "length",
    usage: { promptTokens: 17, completionTokens: 4 },
  });
  assert.equal(server!.requestsFor("/models/lone.gguf").length, 1, "started again from the file in memory");
});

test("after a reload the model comes from Cache Storage, with no request for the file", async (t) => {
  if (skipWithoutChromium(t)) return;
  const target = model("tiny-reload", { sha256: tinySha256 });
  const first = await load(target);
  assert.equal(first.ready?.fromStorage, false);
  assert.equal(server!.requestsFor("/models/tiny-reload.gguf").length, 1);
  await openPage();
  const second = await load(target);
  assert.equal(second.error, undefined, JSON.stringify(second.error));
  assert.equal(second.ready?.fromStorage, true);
  assert.equal(
    server!.requestsFor("/models/tiny-reload.gguf").length,
    1,
    "no second request for the model file",
  );
  assert.match(
    second.progress.find((event) => event.phase === "download")?.label ?? "",
    /from browser storage/,
  );
  const { parts } = await generate(chat("Tell me about the fabric."));
  assert.equal(textOf(parts), browserAnswers.get(JSON.stringify(chat("Tell me about the fabric."))));
});

test("a download cut off in one visit resumes with a Range request in the next, and nothing half-stored is trusted", async (t) => {
  if (skipWithoutChromium(t)) return;
  const path = "/models/tiny-cut.gguf";
  const target = model("tiny-cut", { sha256: tinySha256, sizeBytes: tinyBytes.length });
  const cutAt = 300_000;
  // The retries after the cut find the server down: this visit gives up.
  Object.assign(server!.faults(path), { cutNextAfterBytes: cutAt, unavailableAfterCut: true });
  const cutRequest = server!.requestsFor(path).length;
  const failed = await load(target);
  assert.equal(failed.error?.code, "download_failed", JSON.stringify(failed.error));
  assert.equal(server!.requestsFor(path)[cutRequest]?.bytesSent, cutAt);
  assert.equal(await harness<boolean>("storeHas", { url: target.url }), false, "no verified copy stands");
  const kept = await harness<string[]>("storedKeys", target.url);
  assert.ok(
    kept.some((key) => key.endsWith("/piece/0")),
    `the received bytes are kept as a piece: ${kept}`,
  );

  await openPage();
  server!.faults(path).unavailable = false;
  const before = server!.requestsFor(path).length;
  const resumed = await load(target);
  assert.equal(resumed.error, undefined, JSON.stringify(resumed.error));
  const requests = server!.requestsFor(path).slice(before);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.status, 206);
  assert.match(requests[0]!.range ?? "", /^bytes=\d+-$/);
  const resumedFrom = Number(/\d+/.exec(requests[0]!.range!)![0]);
  assert.ok(resumedFrom > 0 && resumedFrom <= cutAt, `resumed from byte ${resumedFrom}`);
  assert.equal(requests[0]!.ifRange, `"${tinySha256}"`, "If-Range carries the file's ETag");
  assert.equal(requests[0]!.bytesSent, tinyBytes.length - resumedFrom);
  assert.equal(await harness<boolean>("storeHas", { url: target.url, sha256: tinySha256 }), true);
  const { parts } = await generate(chat("Hi", { maxTokens: 48 }));
  assert.equal(textOf(parts), browserAnswers.get(JSON.stringify(chat("Hi", { maxTokens: 48 }))));
});

test("a file whose sha256 is not the catalog's is refused and nothing of it stays", async (t) => {
  if (skipWithoutChromium(t)) return;
  const target = model("tiny-bad-sum", { sha256: "0".repeat(64) });
  const refused = await load(target);
  assert.equal(refused.error?.code, "checksum_mismatch");
  assert.match(refused.error?.message ?? "", new RegExp(`has sha256 ${tinySha256}; the catalog says 0{64}`));
  assert.deepEqual(await harness<string[]>("storedKeys", target.url), []);
  // The streamed hash is crypto.subtle's.
  assert.equal(await harness<string>("sha256WithSubtle", target.url), tinySha256);
  const wrongSize = await load(model("tiny-bad-sum", { sizeBytes: tinyBytes.length + 1 }));
  assert.equal(wrongSize.error?.code, "checksum_mismatch");
  assert.match(wrongSize.error?.message ?? "", /bytes; the catalog says/);
});

test("a load aborted during its download fails as cancelled and leaves no verified copy", async (t) => {
  if (skipWithoutChromium(t)) return;
  const target = model("tiny-abort", { sha256: tinySha256 });
  const outcome = await harness<{ error?: { code: string } }>("loadAndAbort", target);
  assert.equal(outcome.error?.code, "job_cancelled");
  assert.equal(await harness<boolean>("storeHas", { url: target.url }), false);
});

test("a worker that cannot start fails the load with the reason", async (t) => {
  if (skipWithoutChromium(t)) return;
  const outcome = await harness<{ error?: { code: string; message: string } }>(
    "loadWithWorker",
    "/browser/no-such-worker.js",
    model("tiny"),
  );
  assert.equal(outcome.error?.code, "internal");
  assert.match(outcome.error?.message ?? "", /^the engine worker failed/);
});

test("a model over the visitor's memory limit is refused before it is downloaded", async (t) => {
  if (skipWithoutChromium(t)) return;
  const outcome = await load(model("tiny-big", { sizeBytes: tinyBytes.length }), {
    memoryLimitBytes: 32 * 1024 * 1024,
  });
  assert.equal(outcome.error?.code, "no_capacity");
  assert.match(
    outcome.error?.message ?? "",
    /model tiny needs about \d+ MB on wllama; this tab may use 32 MB/,
  );
  assert.equal(server!.requestsFor("/models/tiny-big.gguf").length, 0);
  // Without the size in the catalog, the file is checked once stored, before it is loaded.
  const late = await load(model("tiny-big"), { memoryLimitBytes: 32 * 1024 * 1024 });
  assert.equal(late.error?.code, "no_capacity");
  assert.equal(server!.requestsFor("/models/tiny-big.gguf").length, 1);
});

test("WebLLM is set up from a local app config and runs until it needs the compiled model library", async (t) => {
  if (skipWithoutChromium(t)) return;
  const chatConfig = {
    model_type: "llama",
    vocab_size: 566,
    context_window_size: 2048,
    sliding_window_size: -1,
    attention_sink_size: -1,
    temperature: 1,
    top_p: 1,
    repetition_penalty: 1,
    frequency_penalty: 0,
    presence_penalty: 0,
    tokenizer_files: ["tokenizer.json"],
    conv_template: {
      name: "chatml",
      system_template: "<|im_start|>system\n{system_message}<|im_end|>\n",
      system_message: "",
      roles: { user: "<|im_start|>user", assistant: "<|im_start|>assistant" },
      seps: ["<|im_end|>\n"],
      role_content_sep: "\n",
      role_empty_sep: "\n",
      stop_str: ["<|im_end|>"],
      stop_token_ids: [565],
    },
  };
  server!.addFile(
    "/webllm/tiny/resolve/main/mlc-chat-config.json",
    Buffer.from(JSON.stringify(chatConfig)),
    "application/json",
  );
  // No MLC compiler runs here: the library is an empty WebAssembly module, which WebLLM's TVM runtime refuses.
  server!.addFile(
    "/webllm/tiny-webgpu.wasm",
    Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0, 0, 0]),
    "application/wasm",
  );
  const outcome = await load(
    model("tiny-webllm", {
      mlc: {
        modelUrl: `${server!.origin}/webllm/tiny/`,
        modelLibraryUrl: `${server!.origin}/webllm/tiny-webgpu.wasm`,
        requiredFeatures: [],
      },
    }),
  );
  assert.equal(outcome.error, undefined, JSON.stringify(outcome.error));
  t.diagnostic(`WebLLM stopped with: ${outcome.ready?.reason}`);
  assert.equal(server!.requestsFor("/webllm/tiny/resolve/main/mlc-chat-config.json").length, 1);
  assert.equal(server!.requestsFor("/webllm/tiny-webgpu.wasm").length, 1);
  // It falls back to wllama and says why, so the visitor still serves the model.
  assert.equal(outcome.ready?.engine, "wllama");
  assert.match(
    outcome.ready?.reason ?? "",
    /has an MLC build: WebLLM runs it on the GPU, but WebLLM failed \(WebLLM could not load model tiny: .+\); wllama runs it on the CPU instead$/,
  );
  assert.equal(server!.requestsFor("/models/tiny-webllm.gguf").length, 1);
});

test("on a cross-origin isolated page wllama runs two threads and gives the same greedy text", async (t) => {
  if (skipWithoutChromium(t)) return;
  await using isolated = await startEngineTestServer({ bundleDirectory, isolated: true });
  isolated.addFile("/models/tiny.gguf", tinyBytes);
  const other = await browser!.newPage();
  try {
    await other.goto(`${isolated.origin}/`);
    await other.waitForFunction(
      () => (window as unknown as { harnessReady?: boolean }).harnessReady === true,
    );
    const outcome = await other.evaluate(async (origin) => {
      const { harness } = window as unknown as {
        harness: {
          load: (model: unknown, preferences: unknown) => Promise<LoadOutcome>;
          generate: (request: unknown) => Promise<GenerateOutcome>;
        };
      };
      const loaded = await harness.load({ id: "tiny", url: `${origin}/models/tiny.gguf` }, { threads: 2 });
      const generated = await harness.generate({
        model: "tiny",
        input: { kind: "chat", messages: [{ role: "user", content: "Tell me about the fabric." }] },
        sampling: { temperature: 0, maxTokens: 32 },
      });
      return { isolated: crossOriginIsolated, loaded, generated };
    }, isolated.origin);
    assert.equal(outcome.isolated, true);
    assert.match(outcome.loaded.ready?.description ?? "", /WebAssembly, 2 threads$/);
    assert.equal(
      textOf(outcome.generated.parts),
      browserAnswers.get(JSON.stringify(chat("Tell me about the fabric."))),
    );
  } finally {
    await other.close();
  }
});

test("a browser without a WebGPU adapter gets wllama and says so", async (t) => {
  if (skipWithoutChromium(t)) return;
  await using plain = await launchChromium();
  const other = plain.pages()[0] ?? (await plain.newPage());
  await other.goto(`${server!.origin}/`);
  await other.waitForFunction(() => (window as unknown as { harnessReady?: boolean }).harnessReady === true);
  const detection = await other.evaluate(
    (target) =>
      (
        window as unknown as {
          harness: { detect: (model: unknown) => Promise<{ engine: string; reason: string }> };
        }
      ).harness.detect(target),
    model("tiny"),
  );
  assert.deepEqual(
    { engine: detection.engine, reason: detection.reason },
    { engine: "wllama", reason: "no WebGPU adapter, so the model runs on the CPU with wllama" },
  );
});

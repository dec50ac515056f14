// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the ModelManager on the real llama.cpp runtime and a local HTTP model server: progress, checksum, budget, unload, full disk.

import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generateTinyModel } from "@helexa/gguf";
import { type FileServer, startFileServer } from "@helexa/models/test";
import { HelexaError, type ModelLoad } from "@helexa/protocol";
import type { LanguageModelRuntime, StreamPart } from "@helexa/runtime";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import { ModelManager, type ModelManagerEvent } from "./model-manager.js";

const run = promisify(execFile);
const child = fileURLToPath(new URL("./__fixtures__/load-in-child.js", import.meta.url));

interface ServedModel {
  bytes: Buffer;
  sha256: string;
}

let scratch = "";
let first: ServedModel;
let second: ServedModel;
let server: FileServer;
let runtime: LanguageModelRuntime | undefined;
let unavailable: string | null = null;

async function makeModel(name: string, seed: number): Promise<ServedModel> {
  const path = join(scratch, name);
  await generateTinyModel({ path, seed, preset: "test" });
  const bytes = await readFile(path);
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "helexa-model-manager-"));
  first = await makeModel("first.gguf", 7);
  second = await makeModel("second.gguf", 8);
  server = await startFileServer({ content: first.bytes, extraFiles: { "/second.gguf": second.bytes } });
  try {
    runtime = await createLlamaCppRuntime({ models: [], threads: 2, gpu: false, onLog: () => {} });
  } catch (error) {
    unavailable = `no usable node-llama-cpp binary: ${(error as Error).message}`;
  }
});

after(async () => {
  await runtime?.[Symbol.asyncDispose]();
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

function ready(t: { skip: (message: string) => void }): LanguageModelRuntime | null {
  if (unavailable === null) return runtime!;
  if (process.env.CI === "true") assert.fail(unavailable);
  t.skip(unavailable);
  return null;
}

function loadOf(modelId: string, model: ServedModel, path = "/model.gguf"): Omit<ModelLoad, "type"> {
  return {
    modelId,
    url: `${server.origin}${path}`,
    sha256: model.sha256,
    sizeBytes: model.bytes.length,
    contextLength: 2048,
  };
}

async function finishes(target: LanguageModelRuntime, model: string): Promise<boolean> {
  const parts: StreamPart[] = [];
  const request = {
    model,
    input: { kind: "chat" as const, messages: [{ role: "user" as const, content: "hi" }] },
    sampling: { temperature: 0, maxTokens: 4 },
  };
  for await (const part of target.doStream({ request })) parts.push(part);
  return parts.at(-1)?.type === "finish";
}

function managerFor(target: LanguageModelRuntime, modelsDir: string, memoryBudgetBytes = 1e9) {
  const events: ModelManagerEvent[] = [];
  const manager = new ModelManager({
    runtime: target,
    modelsDir,
    memoryBudgetBytes,
    neuronName: "test-neuron",
    onEvent: (event) => events.push(event),
    download: { retries: 0 },
  });
  return { manager, events };
}

describe("ModelManager", () => {
  it("downloads a catalog model with progress, checks it, loads it, and serves it; asked again, it is there", async (t) => {
    const target = ready(t);
    if (!target) return;
    const modelsDir = await mkdtemp(join(scratch, "models-"));
    const { manager, events } = managerFor(target, modelsDir);
    const requestsBefore = server.requests.length;
    const model = await manager.load(loadOf("first", first));
    assert.deepEqual(model, { id: "first", contextLength: 2048, sizeBytes: first.bytes.length });
    assert.ok(await finishes(target, "first"));

    const progress = events.filter((event) => event.type === "progress");
    const downloads = progress.filter((event) => event.phase === "download");
    const loads = progress.filter((event) => event.phase === "load");
    assert.ok(downloads.length > 0 && loads.length > 0, "both phases reported progress");
    assert.ok(progress.indexOf(downloads.at(-1)!) < progress.indexOf(loads[0]!), "download, then load");
    assert.equal(downloads.at(-1)?.fraction, 1);
    assert.equal(downloads.at(-1)?.bytes, first.bytes.length);
    assert.equal(loads.at(-1)?.fraction, 1);
    const loaded = events.find((event) => event.type === "loaded");
    assert.equal(loaded?.type === "loaded" && loaded.downloaded, true);
    assert.deepEqual(await readdir(modelsDir), ["model.gguf"], "the checked file, and no .part");
    assert.equal(manager.usedBytes(), first.bytes.length);

    // A second request for it is the model already loaded: nothing is fetched again.
    const requestsAfter = server.requests.length;
    assert.deepEqual(await manager.load(loadOf("first", first)), model);
    assert.equal(server.requests.length, requestsAfter);
    assert.equal(requestsAfter - requestsBefore, 1);
    await manager.unload("first");
    assert.ok(!target.models().some((entry) => entry.id === "first"));
    assert.equal(manager.usedBytes(), 0);
  });

  it("a wrong sha256 fails as checksum_mismatch naming the model and the neuron, and leaves nothing in the models dir", async (t) => {
    const target = ready(t);
    if (!target) return;
    const modelsDir = await mkdtemp(join(scratch, "models-"));
    const { manager, events } = managerFor(target, modelsDir);
    const wrong = { ...loadOf("wrong-sum", first), sha256: "0".repeat(64) };
    await assert.rejects(manager.load(wrong), (error) => {
      assert.ok(HelexaError.is(error));
      assert.equal(error.code, "checksum_mismatch");
      assert.match(error.message, /^model wrong-sum could not be downloaded on neuron test-neuron: /);
      assert.match(error.message, /checksum mismatch: expected sha256 0{64}, got [0-9a-f]{64}/);
      return true;
    });
    assert.deepEqual(await readdir(modelsDir), []);
    assert.ok(!target.models().some((model) => model.id === "wrong-sum"));
    assert.equal(manager.usedBytes(), 0);
    assert.equal(events.at(-1)?.type, "failed");
  });

  it("refuses a load past its memory budget, saying what is in use; the model fits once another is unloaded", async (t) => {
    const target = ready(t);
    if (!target) return;
    const modelsDir = await mkdtemp(join(scratch, "models-"));
    // Room for one of the two models, not both.
    const budget = first.bytes.length + second.bytes.length - 1;
    const { manager, events } = managerFor(target, modelsDir, budget);
    await manager.load(loadOf("first", first));
    await assert.rejects(manager.load(loadOf("second", second, "/second.gguf")), (error) => {
      assert.ok(HelexaError.is(error));
      assert.equal(error.code, "no_capacity");
      assert.match(
        error.message,
        /^model second \(0\.\d MB\) does not fit neuron test-neuron's memory budget: 0\.\d MB of 1\.\d MB in use \(first\)$/,
      );
      return true;
    });
    assert.deepEqual(await readdir(modelsDir), ["model.gguf"], "nothing was fetched for the refused model");

    // An unload and a load sent together (as cortex does) run in that order.
    const unloaded = manager.unload("first");
    const loaded = manager.load(loadOf("second", second, "/second.gguf"));
    await unloaded;
    await loaded;
    assert.deepEqual(
      target.models().map((model) => model.id),
      ["second"],
    );
    assert.ok(await finishes(target, "second"));
    assert.ok(events.some((event) => event.type === "unloaded" && event.modelId === "first"));
    await manager.unload("second");
  });

  it("an unload cancels a load under way", async (t) => {
    const target = ready(t);
    if (!target) return;
    await using slow = await startFileServer({
      content: first.bytes,
      dripChunkBytes: 16 * 1024,
      dripIntervalMs: 20,
    });
    const modelsDir = await mkdtemp(join(scratch, "models-"));
    const { manager, events } = managerFor(target, modelsDir);
    const load = manager.load({ ...loadOf("slow", first), url: slow.fileUrl });
    const rejected = assert.rejects(load, (error) => HelexaError.is(error) && error.code === "job_cancelled");
    while (!events.some((event) => event.type === "progress"))
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(manager.loading()[0]?.modelId, "slow");
    await manager.unload("slow");
    await rejected;
    assert.ok(!target.models().some((model) => model.id === "slow"));
    assert.deepEqual(manager.loading(), []);
  });
});

/** A tmpfs needs a mount namespace: `unshare -rm`, as the network tests use `unshare -rn`. */
function tmpfsUnavailable(): string | null {
  if (process.platform !== "linux") return `tmpfs mounts need Linux (this is ${process.platform})`;
  const probe = spawnSync("unshare", [
    "-rm",
    "sh",
    "-c",
    "mount -t tmpfs -o size=64k tmpfs /mnt || mount -t tmpfs -o size=64k tmpfs /tmp",
  ]);
  if (probe.error) return `unshare: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -rm: ${probe.stderr.toString().trim() || `exit ${probe.status}`}`;
  return null;
}

interface ChildOutcome {
  error: { code: string; message: string } | null;
  files: string[];
  models: string[];
}

describe("ModelManager on a full disk (a child process)", () => {
  it("under a file size limit (ulimit -f) the download stops with EFBIG: an error naming the model, no partial file", async (t) => {
    if (!ready(t)) return;
    const modelsDir = await mkdtemp(join(scratch, "limited-"));
    const input = JSON.stringify({ modelsDir, load: loadOf("too-big", first) });
    // 512 blocks: 256 KiB in dash, 512 KiB in bash; the model is larger either way.
    const { stdout } = await run("sh", [
      "-c",
      'ulimit -f 512 && exec "$@"',
      "sh",
      process.execPath,
      child,
      input,
    ]);
    const outcome = JSON.parse(stdout) as ChildOutcome;
    assert.equal(outcome.error?.code, "download_failed");
    assert.match(
      outcome.error?.message ?? "",
      /^model too-big \(0\.\d MB\) does not fit on neuron child-neuron's disk: no room to write model\.gguf\.part in .*: the file size limit was reached \(EFBIG\)$/,
    );
    assert.deepEqual(outcome.files, []);
    assert.deepEqual(outcome.models, []);
  });

  it("on a 256 KiB tmpfs the disk is full: an error naming the model before a byte is fetched, no partial file", async (t) => {
    if (!ready(t)) return;
    const unavailableHere = tmpfsUnavailable();
    if (unavailableHere) {
      if (process.env.CI === "true") assert.fail(unavailableHere);
      t.skip(unavailableHere);
      return;
    }
    const modelsDir = await mkdtemp(join(scratch, "tmpfs-"));
    const input = JSON.stringify({ modelsDir, load: loadOf("too-big", first) });
    const requestsBefore = server.requests.length;
    const script = 'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"';
    const { stdout } = await run("unshare", [
      "-rm",
      "sh",
      "-c",
      script,
      "sh",
      modelsDir,
      process.execPath,
      child,
      input,
    ]);
    const outcome = JSON.parse(stdout) as ChildOutcome;
    assert.equal(outcome.error?.code, "download_failed");
    assert.match(
      outcome.error?.message ?? "",
      /^model too-big \(0\.\d MB\) does not fit on neuron child-neuron's disk: no room for model\.gguf in .*: it needs \d+ kB more, the disk has \d+ kB free \(ENOSPC\)$/,
    );
    assert.deepEqual(outcome.files, []);
    assert.equal(server.requests.length, requestsBefore, "nothing was fetched");
  });
});

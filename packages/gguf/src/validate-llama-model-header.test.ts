// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the pre-load check, on files the writer makes with one thing wrong each (none is loaded into llama).

import assert from "node:assert/strict";
import { mkdtemp, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readGgufHeader } from "./gguf-header-reader.js";
import type { GgufMetadataValue } from "./gguf-metadata.js";
import { writeGguf } from "./gguf-writer.js";
import { generateTinyModel } from "./tiny-model.js";
import { InvalidModelError, validateLlamaModelHeader } from "./validate-llama-model-header.js";

async function temporaryDirectory(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "helexa-gguf-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

/** The tiny model's header with some keys changed, written with a small stand-in tensor. */
async function writeVariant(options: {
  directory: string;
  name: string;
  change: (metadata: Map<string, GgufMetadataValue>) => void;
}): Promise<string> {
  const source = join(options.directory, "source.gguf");
  await generateTinyModel({ path: source, preset: "test" });
  const metadata = (await readGgufHeader(source)).metadata;
  options.change(metadata);
  const path = join(options.directory, options.name);
  await writeGguf({
    path,
    metadata: [...metadata],
    tensors: [{ name: "token_embd.weight", dimensions: [128, 4], type: "f32", data: new Float32Array(512) }],
  });
  return path;
}

function rejectsWith(header: Parameters<typeof validateLlamaModelHeader>[0], pattern: RegExp): void {
  assert.throws(
    () => validateLlamaModelHeader(header),
    (error) => error instanceof InvalidModelError && pattern.test(error.message),
  );
}

test("the generated tiny models pass", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "tiny.gguf");
  await generateTinyModel({ path, preset: "test" });
  validateLlamaModelHeader(await readGgufHeader(path));
});

test("a model missing llama.feed_forward_length is refused by name (llama.cpp would abort the process)", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = await writeVariant({
    directory,
    name: "no-ff.gguf",
    change: (metadata) => metadata.delete("llama.feed_forward_length"),
  });
  rejectsWith(await readGgufHeader(path), /missing the metadata key llama\.feed_forward_length$/);
});

test("each required key is named when it is missing", async (t) => {
  const directory = await temporaryDirectory(t);
  const source = join(directory, "source.gguf");
  await generateTinyModel({ path: source, preset: "test" });
  const header = await readGgufHeader(source);
  for (const key of [
    "general.architecture",
    "llama.context_length",
    "llama.embedding_length",
    "llama.block_count",
    "llama.attention.head_count",
    "llama.attention.layer_norm_rms_epsilon",
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.merges",
  ]) {
    const metadata = new Map(header.metadata);
    metadata.delete(key);
    rejectsWith(
      { ...header, metadata },
      new RegExp(`missing the metadata key ${key.replaceAll(".", "\\.")}`),
    );
  }
});

test("a wrongly typed count and a token id outside the vocabulary are refused", async (t) => {
  const directory = await temporaryDirectory(t);
  const source = join(directory, "source.gguf");
  await generateTinyModel({ path: source, preset: "test" });
  const header = await readGgufHeader(source);
  const zeroHeads = new Map(header.metadata).set("llama.attention.head_count", { type: "uint32", value: 0 });
  rejectsWith(
    { ...header, metadata: zeroHeads },
    /llama\.attention\.head_count must be a positive whole number/,
  );
  const badEos = new Map(header.metadata).set("tokenizer.ggml.eos_token_id", {
    type: "uint32",
    value: 100000,
  });
  rejectsWith({ ...header, metadata: badEos }, /eos_token_id is not a token id/);
});

test("a truncated download is refused: tensor data must fit inside the file", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "cut.gguf");
  const { bytes } = await generateTinyModel({ path, preset: "test" });
  await truncate(path, bytes - 1000);
  rejectsWith(await readGgufHeader(path), /ends at byte \d+ but the file has only \d+ bytes/);
});

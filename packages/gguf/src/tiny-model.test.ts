// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests that the tiny models are deterministic, well formed, and have the promised size and vocabulary.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readGgufHeader } from "./gguf-header-reader.js";
import { generateTinyModel } from "./tiny-model.js";
import { buildTinyVocabulary, IM_END_TOKEN } from "./tiny-tokenizer.js";

async function temporaryDirectory(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "helexa-gguf-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

test("the test preset is byte-identical for the same seed and differs for another", async (t) => {
  const directory = await temporaryDirectory(t);
  const first = join(directory, "first.gguf");
  const second = join(directory, "second.gguf");
  const other = join(directory, "other.gguf");
  await generateTinyModel({ path: first, seed: 42, preset: "test" });
  await generateTinyModel({ path: second, seed: 42, preset: "test" });
  await generateTinyModel({ path: other, seed: 43, preset: "test" });
  assert.equal(await sha256(first), await sha256(second));
  assert.notEqual(await sha256(first), await sha256(other));
  assert.deepEqual((await readdir(directory)).sort(), ["first.gguf", "other.gguf", "second.gguf"]);
});

test("the bench preset is byte-identical for the same seed, 30 to 35 million parameters, mostly q8_0", async (t) => {
  const directory = await temporaryDirectory(t);
  const first = join(directory, "first.gguf");
  const second = join(directory, "second.gguf");
  const info = await generateTinyModel({ path: first, seed: 1, preset: "bench" });
  await generateTinyModel({ path: second, seed: 1, preset: "bench" });
  assert.equal(await sha256(first), await sha256(second));
  assert.ok(info.parameters > 30e6 && info.parameters < 35e6, `${info.parameters} parameters`);
  assert.ok(info.bytes < 40e6, `${info.bytes} bytes`);
  const header = await readGgufHeader(first);
  assert.equal(
    header.tensors.filter((tensor) => tensor.typeName === "q8_0").length,
    70,
    "7 matrices in 10 blocks",
  );
});

test("the header describes a llama model with a ChatML template and a consistent BPE vocabulary", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "tiny.gguf");
  await generateTinyModel({ path, preset: "test" });
  const { metadata, tensors } = await readGgufHeader(path);
  const value = (key: string) => metadata.get(key)?.value;
  assert.equal(value("general.architecture"), "llama");
  assert.equal(value("llama.embedding_length"), 128);
  assert.equal(value("tokenizer.ggml.model"), "gpt2");
  assert.match(String(value("tokenizer.chat_template")), /<\|im_start\|>/);
  const tokens = value("tokenizer.ggml.tokens") as string[];
  const types = value("tokenizer.ggml.token_type") as number[];
  const merges = value("tokenizer.ggml.merges") as string[];
  assert.equal(tokens[value("tokenizer.ggml.eos_token_id") as number], IM_END_TOKEN);
  assert.equal(types[tokens.indexOf(IM_END_TOKEN)], 3, "control");
  assert.equal(tokens[32], "Ġ", "GPT-2 spells the space byte Ġ");
  assert.equal(tokens[65], "A");
  assert.equal(new Set(tokens).size, tokens.length, "no token is listed twice");
  assert.ok(merges.length >= 200 && merges.length <= 400, `${merges.length} merges`);
  const rank = new Map(tokens.map((token, id) => [token, id]));
  merges.forEach((merge, index) => {
    const [left, right] = merge.split(" ") as [string, string];
    const result = rank.get(left + right);
    assert.ok(result !== undefined, `merge ${index} (${merge}) makes a token in the vocabulary`);
    // A merge may only use tokens that exist by its rank: bytes or results of earlier merges.
    for (const part of [left, right]) assert.ok(rank.get(part)! <= result!, `merge ${index} uses ${part}`);
  });
  assert.ok(tensors.some((tensor) => tensor.typeName === "f16"));
  assert.ok(tensors.some((tensor) => tensor.typeName === "q8_0"));
  assert.ok(tensors.some((tensor) => tensor.typeName === "f32"));
});

test("printable ASCII tokens are exactly the byte tokens 0x20-0x7e and the merges built from them", () => {
  const vocabulary = buildTinyVocabulary();
  const printable = new Set(vocabulary.printableAsciiIds);
  for (let byte = 0; byte < 256; byte++)
    assert.equal(printable.has(byte), byte >= 0x20 && byte <= 0x7e, `byte ${byte}`);
  assert.ok(!printable.has(vocabulary.imEndId));
  assert.equal(printable.size, vocabulary.tokens.length - 3 - (256 - 95));
});

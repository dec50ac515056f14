// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests that what the writer writes, the header reader reads back, and that writes are all-or-nothing.

import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { float16BitsToFloat32 } from "./float16.js";
import { readGgufHeader } from "./gguf-header-reader.js";
import type { GgufMetadataValue } from "./gguf-metadata.js";
import { writeGguf } from "./gguf-writer.js";
import { dequantizeQ8_0 } from "./quantize-q8-0.js";

async function temporaryDirectory(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "helexa-gguf-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

const metadata: Array<[string, GgufMetadataValue]> = [
  ["general.architecture", { type: "string", value: "llama" }],
  ["test.uint32", { type: "uint32", value: 4_000_000_000 }],
  ["test.int32", { type: "int32", value: -123456 }],
  ["test.float32", { type: "float32", value: 0.5 }],
  ["test.bool", { type: "bool", value: true }],
  ["test.uint64", { type: "uint64", value: 2n ** 40n }],
  ["test.unicode", { type: "string", value: "héllo ☃ 🌍" }],
  ["test.strings", { type: "array", itemType: "string", value: ["a", "", "Ġthe"] }],
  ["test.int32s", { type: "array", itemType: "int32", value: [1, -2, 3] }],
  ["test.float32s", { type: "array", itemType: "float32", value: [0.25, -1.5] }],
];

test("metadata and tensors read back as written, with aligned data at the stated offsets", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "round-trip.gguf");
  const f32 = Float32Array.from({ length: 6 }, (_, index) => index - 2.5);
  const f16 = Float32Array.from({ length: 5 }, (_, index) => index / 4);
  const q8 = Float32Array.from({ length: 64 }, (_, index) => Math.sin(index));
  await writeGguf({
    path,
    metadata,
    tensors: [
      { name: "a.f32", dimensions: [3, 2], type: "f32", data: f32 },
      { name: "b.f16", dimensions: [5], type: "f16", data: () => f16 },
      { name: "c.q8_0", dimensions: [32, 2], type: "q8_0", data: q8 },
    ],
  });

  const header = await readGgufHeader(path);
  assert.equal(header.version, 3);
  assert.equal(header.alignment, 32);
  for (const [key, value] of metadata) assert.deepEqual(header.metadata.get(key), value, key);
  assert.deepEqual(
    header.metadata.get("general.alignment"),
    { type: "uint32", value: 32 },
    "added when absent",
  );
  assert.deepEqual(
    header.tensors.map(({ name, dimensions, typeName, byteSize }) => ({
      name,
      dimensions,
      typeName,
      byteSize,
    })),
    [
      { name: "a.f32", dimensions: [3, 2], typeName: "f32", byteSize: 24 },
      { name: "b.f16", dimensions: [5], typeName: "f16", byteSize: 10 },
      { name: "c.q8_0", dimensions: [32, 2], typeName: "q8_0", byteSize: 68 },
    ],
  );
  assert.equal(header.dataOffset % 32, 0);

  const file = await readFile(path);
  const slice = (index: number) => {
    const tensor = header.tensors[index]!;
    assert.equal(tensor.offset % 32, 0, `${tensor.name} is aligned`);
    const start = header.dataOffset + tensor.offset;
    return new Uint8Array(file.buffer, file.byteOffset + start, tensor.byteSize!);
  };
  const f32Bytes = slice(0);
  assert.deepEqual(new Float32Array(f32Bytes.slice().buffer), f32);
  const f16View = new DataView(slice(1).slice().buffer);
  assert.deepEqual(
    Array.from({ length: 5 }, (_, index) => float16BitsToFloat32(f16View.getUint16(index * 2, true))),
    [...f16],
  );
  const restored = dequantizeQ8_0(slice(2).slice());
  for (let index = 0; index < 64; index++) assert.ok(Math.abs(restored[index]! - q8[index]!) < 0.01);
  assert.equal(file.length % 32, 0, "the last tensor is padded too");
});

test("a header far larger than the first buffer (a real vocabulary) reads back whole", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "vocabulary.gguf");
  const tokens = Array.from({ length: 50_000 }, (_, index) => `token-${index}-ü`);
  const scores = Array.from({ length: 50_000 }, (_, index) => -index / 4);
  await writeGguf({
    path,
    metadata: [
      ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: tokens }],
      ["tokenizer.ggml.scores", { type: "array", itemType: "float32", value: scores }],
    ],
    tensors: [{ name: "after", dimensions: [2], type: "f32", data: Float32Array.of(1, 2) }],
  });
  const header = await readGgufHeader(path);
  assert.deepEqual(header.metadata.get("tokenizer.ggml.tokens")?.value, tokens);
  assert.deepEqual(header.metadata.get("tokenizer.ggml.scores")?.value, scores);
  assert.equal(header.tensors[0]?.name, "after");
});

test("a failed write leaves neither the file nor a temporary behind", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "broken.gguf");
  await assert.rejects(
    writeGguf({
      path,
      metadata,
      tensors: [
        { name: "fine", dimensions: [4], type: "f32", data: new Float32Array(4) },
        {
          name: "fails-late",
          dimensions: [32],
          type: "q8_0",
          data: () => {
            throw new Error("generator failed");
          },
        },
      ],
    }),
    /generator failed/,
  );
  assert.deepEqual(await readdir(directory), []);
});

test("a row length that is not whole q8_0 blocks is refused before anything is written", async (t) => {
  const directory = await temporaryDirectory(t);
  await assert.rejects(
    writeGguf({
      path: join(directory, "bad.gguf"),
      metadata,
      tensors: [{ name: "odd", dimensions: [33], type: "q8_0", data: new Float32Array(33) }],
    }),
    /row length 33 does not fit q8_0/,
  );
  assert.deepEqual(await readdir(directory), []);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests that the header reader refuses damaged files with a clear error instead of reading past them.

import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GgufFormatError, readGgufHeader } from "./gguf-header-reader.js";
import { writeGguf } from "./gguf-writer.js";

async function temporaryDirectory(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "helexa-gguf-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

test("a file that is not GGUF is named as such", async (t) => {
  const path = join(await temporaryDirectory(t), "not.gguf");
  await writeFile(path, "<html>404 not found</html>");
  await assert.rejects(readGgufHeader(path), (error) => {
    assert.ok(error instanceof GgufFormatError);
    assert.match(error.message, /not a GGUF file/);
    return true;
  });
});

test("a header cut short is reported, not read past", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "cut.gguf");
  await writeGguf({
    path,
    metadata: [["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: ["a", "b", "c"] }]],
    tensors: [{ name: "t", dimensions: [4], type: "f32", data: new Float32Array(4) }],
  });
  await truncate(path, 60);
  await assert.rejects(readGgufHeader(path), /header cut short|more than the \d+ bytes left/);
});

test("an absurd string length is refused before any allocation", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "huge.gguf");
  await writeGguf({ path, metadata: [["general.name", { type: "string", value: "x" }]], tensors: [] });
  const bytes = await readFile(path);
  // The first key's length field follows magic, version and the two counts.
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(24, 2n ** 62n, true);
  await writeFile(path, bytes);
  await assert.rejects(readGgufHeader(path), /metadata key 0 length is \d+, more than/);
});

test("a version other than 2 or 3 is refused", async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, "v9.gguf");
  await writeGguf({ path, metadata: [], tensors: [] });
  const bytes = await readFile(path);
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(4, 9, true);
  await writeFile(path, bytes);
  await assert.rejects(readGgufHeader(path), /unsupported GGUF version 9/);
});

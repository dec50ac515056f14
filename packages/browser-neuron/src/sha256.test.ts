// SPDX-License-Identifier: PolyForm-Shield-1.0
// The streaming SHA-256 against Node's and WebCrypto's, over lengths and chunkings that cross every block edge.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { Sha256, sha256OfBlob } from "./sha256.js";

function hex(buffer: ArrayBuffer): string {
  return Buffer.from(buffer).toString("hex");
}

test("matches node:crypto for every length around the block and padding edges, fed in one piece or byte by byte", () => {
  for (let length = 0; length <= 200; length++) {
    const data = randomBytes(length);
    const expected = createHash("sha256").update(data).digest("hex");
    assert.equal(new Sha256().update(data).digestHex(), expected, `${length} bytes in one piece`);
    const bytewise = new Sha256();
    for (const byte of data) bytewise.update(Uint8Array.of(byte));
    assert.equal(bytewise.digestHex(), expected, `${length} bytes one at a time`);
  }
});

test("matches crypto.subtle over uneven chunks of a few megabytes, and from a Blob's stream", async (t) => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const expected = hex(await crypto.subtle.digest("SHA-256", data));
  const hasher = new Sha256();
  let offset = 0;
  for (const size of [1, 63, 64, 65, 4095, 100_000]) {
    hasher.update(data.subarray(offset, offset + size));
    offset += size;
  }
  hasher.update(data.subarray(offset));
  assert.equal(hasher.digestHex(), expected);
  const started = performance.now();
  assert.equal(await sha256OfBlob(new Blob([data])), expected);
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`streamed SHA-256: ${(data.length / 1024 / 1024 / seconds).toFixed(0)} MB/s in Node`);
});

test("takes no data after the digest, and an aborted Blob hash stops", async () => {
  const hasher = new Sha256();
  hasher.digestHex();
  assert.throws(() => hasher.update(Uint8Array.of(1)), /after digest/);
  await assert.rejects(sha256OfBlob(new Blob([randomBytes(1024)]), AbortSignal.abort()), {
    name: "AbortError",
  });
});

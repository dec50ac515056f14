// SPDX-License-Identifier: PolyForm-Shield-1.0
// SHA-256 of a file on disk, read in large chunks and stoppable by an AbortSignal between them.

import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";

export interface FileHash {
  /** The hash over the file so far, not yet digested, so that more bytes can be added to it. */
  hash: Hash;
  bytes: number;
}

/** Hashes a whole file; a model is hundreds of MB, so the signal is checked on every chunk. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<FileHash> {
  const hash = createHash("sha256");
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      hash.update(chunk);
      bytes += chunk.byteLength;
    }
  } finally {
    stream.destroy();
  }
  return { hash, bytes };
}

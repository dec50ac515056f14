// SPDX-License-Identifier: PolyForm-Shield-1.0
// Model files in the tab's Cache Storage: downloaded once with progress, resumed by HTTP Range, trusted only when whole.

import { HelexaError } from "@helexa/protocol";
import type { ProgressEvent } from "@helexa/runtime";
import { sha256OfBlob } from "./sha256.js";

export interface ModelStoreOptions {
  /** The Cache Storage cache; a new name leaves every model stored under the old one behind. */
  cacheName?: string;
  /**
   * Bytes per stored piece. A download is kept as pieces as it comes, so a cut loses at most the piece in
   * flight (and not even that when the page is still there to flush it).
   */
  pieceBytes?: number;
  /** Further attempts after a network failure or a 5xx; attempts that made progress do not count. */
  retries?: number;
  fetch?: typeof fetch;
}

export interface ModelFileRequest {
  url: string;
  /** From the catalog: the file is refused unless it hashes to this (64 lower-case hex digits). */
  sha256?: string;
  sizeBytes?: number;
  /** Names the file in progress events; the URL's last segment by default. */
  label?: string;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export interface StoredModelFile {
  /** The whole file, backed by browser storage rather than memory. */
  blob: Blob;
  sha256: string;
  /** True when nothing was downloaded: the file was already stored. */
  fromStorage: boolean;
}

export interface ModelStore {
  /** The file from storage, or downloaded (resuming what an earlier visit left), verified and stored first. */
  open(request: ModelFileRequest): Promise<StoredModelFile>;
  /** Whether a verified copy is stored (matching `sha256` when given). */
  has(request: { url: string; sha256?: string }): Promise<boolean>;
  /** Forgets the file: its verified copy and any unfinished download. */
  delete(url: string): Promise<void>;
}

/** Written last, after the size and hash are checked: without it no piece is ever used as a model. */
interface CompleteManifest {
  url: string;
  sizeBytes: number;
  sha256: string;
  pieces: Array<{ offset: number; size: number }>;
}

/** What a resumed request must still match: the file's size and the validator its server gave. */
interface DownloadManifest {
  totalBytes: number | null;
  etag: string | null;
  lastModified: string | null;
}

export const DEFAULT_MODEL_CACHE_NAME = "helexa-models-v1";
const DEFAULT_PIECE_BYTES = 8 * 1024 * 1024;
const DEFAULT_RETRIES = 3;
const FIRST_BACKOFF_MS = 200;
const PROGRESS_INTERVAL_MS = 100;
/** Keys live under a host that cannot exist, so no real request ever matches them. */
const KEY_ORIGIN = "https://model-store.helexa.invalid";

/** A failure a later attempt may get past: the network, a 5xx, a body cut short. */
class RetryableFailure extends Error {
  override readonly name = "RetryableFailure";
}

/** The server no longer has what the stored pieces were part of: start again from byte 0. */
class RestartFromZero extends Error {
  override readonly name = "RestartFromZero";
}

function keyPrefix(url: string): string {
  return `${KEY_ORIGIN}/${encodeURIComponent(url)}/`;
}

function pieceKey(url: string, offset: number): string {
  return `${keyPrefix(url)}piece/${offset}`;
}

function labelOf(url: string): string {
  const path = new URL(url).pathname;
  return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1)) || url;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isQuotaError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "QuotaExceededError";
}

function jsonResponse(value: unknown): Response {
  return new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });
}

function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const match = header ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!match) return null;
  return { start: Number(match[1]), total: match[2] === "*" ? null : Number(match[2]) };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function createModelStore(options: ModelStoreOptions = {}): ModelStore {
  const cacheName = options.cacheName ?? DEFAULT_MODEL_CACHE_NAME;
  const pieceBytes = options.pieceBytes ?? DEFAULT_PIECE_BYTES;
  const retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES));
  const fetchFile = options.fetch ?? ((input, init) => fetch(input, init));
  if (!Number.isInteger(pieceBytes) || pieceBytes < 1)
    throw new HelexaError("invalid_request", "pieceBytes must be a positive integer");

  const openCache = () => {
    if (typeof caches === "undefined") {
      throw new HelexaError(
        "no_capacity",
        "this browser gives the page no Cache Storage (a private window, or not a secure context)",
      );
    }
    return caches.open(cacheName);
  };

  async function readJson<T>(cache: Cache, key: string): Promise<T | null> {
    const response = await cache.match(key);
    if (!response) return null;
    try {
      return (await response.json()) as T;
    } catch {
      return null;
    }
  }

  async function deleteAll(cache: Cache, url: string): Promise<void> {
    const prefix = keyPrefix(url);
    const keys = await cache.keys();
    await Promise.all(keys.filter((key) => key.url.startsWith(prefix)).map((key) => cache.delete(key)));
  }

  async function deletePieces(cache: Cache, url: string): Promise<void> {
    const prefix = `${keyPrefix(url)}piece/`;
    const keys = await cache.keys();
    await Promise.all(keys.filter((key) => key.url.startsWith(prefix)).map((key) => cache.delete(key)));
  }

  /** The stored pieces that follow on from byte 0 without a gap; any others are deleted. */
  async function contiguousPieces(
    cache: Cache,
    url: string,
  ): Promise<Array<{ offset: number; size: number }>> {
    const prefix = `${keyPrefix(url)}piece/`;
    const found: Array<{ offset: number; size: number; key: Request }> = [];
    for (const key of await cache.keys()) {
      if (!key.url.startsWith(prefix)) continue;
      const response = await cache.match(key);
      const size = Number(response?.headers.get("content-length") ?? (await response?.blob())?.size ?? 0);
      found.push({ offset: Number(key.url.slice(prefix.length)), size, key });
    }
    found.sort((left, right) => left.offset - right.offset);
    const kept: Array<{ offset: number; size: number }> = [];
    let next = 0;
    for (const piece of found) {
      if (piece.offset === next && piece.size > 0) {
        kept.push({ offset: piece.offset, size: piece.size });
        next += piece.size;
      } else {
        await cache.delete(piece.key);
      }
    }
    return kept;
  }

  async function assemble(
    cache: Cache,
    url: string,
    pieces: Array<{ offset: number; size: number }>,
  ): Promise<Blob | null> {
    const parts: Blob[] = [];
    for (const piece of pieces) {
      const response = await cache.match(pieceKey(url, piece.offset));
      if (!response) return null;
      const blob = await response.blob();
      if (blob.size !== piece.size) return null;
      parts.push(blob);
    }
    return new Blob(parts, { type: "application/octet-stream" });
  }

  async function findComplete(
    cache: Cache,
    request: { url: string; sha256?: string; sizeBytes?: number },
  ): Promise<StoredModelFile | null> {
    const manifest = await readJson<CompleteManifest>(cache, `${keyPrefix(request.url)}complete`);
    if (!manifest) return null;
    const stale =
      (request.sha256 !== undefined && manifest.sha256 !== request.sha256) ||
      (request.sizeBytes !== undefined && manifest.sizeBytes !== request.sizeBytes);
    const blob = stale ? null : await assemble(cache, request.url, manifest.pieces);
    if (!blob || blob.size !== manifest.sizeBytes) {
      // Another version of the file, or pieces the browser evicted: nothing of it can be trusted.
      await deleteAll(cache, request.url);
      return null;
    }
    return { blob, sha256: manifest.sha256, fromStorage: true };
  }

  async function withLock<T>(url: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    // Two tabs downloading the same file would interleave their pieces: one at a time per file.
    const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
    if (!locks) return task();
    return locks.request(`helexa-model-store:${url}`, signal ? { signal } : {}, task);
  }

  async function download(cache: Cache, request: ModelFileRequest): Promise<StoredModelFile> {
    const { url, signal } = request;
    const label = request.label ?? labelOf(url);
    const host = new URL(url).host;
    const manifestKey = `${keyPrefix(url)}download`;
    let lastProgressAt = 0;
    const report = (done: number, total: number | null, force = false) => {
      const now = Date.now();
      if (!force && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now;
      request.onProgress?.({
        phase: "download",
        label,
        fraction: total ? Math.min(1, done / total) : null,
        bytes: { done, total },
      });
    };

    let failures = 0;
    let restarts = 0;
    for (;;) {
      signal?.throwIfAborted();
      let manifest = await readJson<DownloadManifest>(cache, manifestKey);
      let pieces = manifest ? await contiguousPieces(cache, url) : [];
      if (!manifest) await deletePieces(cache, url);
      let offset = pieces.reduce((sum, piece) => sum + piece.size, 0);
      const offsetBefore = offset;
      try {
        const headers: Record<string, string> = {};
        if (offset > 0 && manifest) {
          headers.range = `bytes=${offset}-`;
          // If-Range makes a changed file come back whole (200) instead of a tail that belongs to another file.
          const validator =
            manifest.etag && !manifest.etag.startsWith("W/") ? manifest.etag : manifest.lastModified;
          if (validator) headers["if-range"] = validator;
        }
        let response: Response;
        try {
          response = await fetchFile(url, { headers, cache: "no-store", ...(signal ? { signal } : {}) });
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          throw new RetryableFailure(`could not reach ${host}: ${messageOf(error)}`);
        }

        let total: number | null;
        if (response.status === 206) {
          const range = parseContentRange(response.headers.get("content-range"));
          if (!range || range.start !== offset) {
            await response.body?.cancel();
            throw new RestartFromZero("the server answered another range than the one asked for");
          }
          total = range.total ?? manifest?.totalBytes ?? null;
        } else if (response.status === 200) {
          // No Range asked, or the file changed since the pieces were stored (If-Range): the answer is the whole file.
          if (offset > 0) {
            await deletePieces(cache, url);
            pieces = [];
            offset = 0;
          }
          const length = response.headers.get("content-length");
          total = length === null ? null : Number(length);
        } else if (response.status === 416 && offset > 0) {
          await response.body?.cancel();
          const range = /^bytes \*\/(\d+)$/.exec(response.headers.get("content-range") ?? "");
          if (range && Number(range[1]) === offset) total = offset;
          else throw new RestartFromZero("the stored pieces are longer than the file");
        } else {
          await response.body?.cancel();
          const reason = `${url} answered HTTP ${response.status}`;
          if (response.status >= 500 || response.status === 408 || response.status === 429)
            throw new RetryableFailure(reason);
          throw new HelexaError("download_failed", `could not download ${label}: ${reason}`);
        }

        if (request.sizeBytes !== undefined && total !== null && total !== request.sizeBytes) {
          await response.body?.cancel();
          await deleteAll(cache, url);
          throw new HelexaError(
            "checksum_mismatch",
            `${label} from ${host} is ${total} bytes; the catalog says ${request.sizeBytes}`,
          );
        }
        if (total !== null) await checkFreeSpace(total - offset, label);
        if (offset === 0 || !manifest) {
          manifest = {
            totalBytes: total,
            etag: response.headers.get("etag"),
            lastModified: response.headers.get("last-modified"),
          };
          await cache.put(manifestKey, jsonResponse(manifest));
        }

        report(offset, total, true);
        if (response.status !== 416 && response.body) {
          offset = await receiveBody({
            cache,
            url,
            body: response.body,
            offset,
            total,
            pieces,
            report,
            signal,
          });
        }
        report(offset, total, true);
        if (total !== null && offset < total) {
          throw new RetryableFailure(`the connection to ${host} closed after ${offset} of ${total} bytes`);
        }
        if (total !== null && offset > total)
          throw new RestartFromZero("the server sent more bytes than the file has");
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isQuotaError(error)) {
          throw new HelexaError("no_capacity", `browser storage is full: ${label} could not be stored`, {
            cause: error,
          });
        }
        if (error instanceof RestartFromZero) {
          await deleteAll(cache, url);
          if (++restarts > 2) throw new HelexaError("download_failed", `${label}: ${error.message}`);
          continue;
        }
        if (!(error instanceof RetryableFailure)) throw error;
        // A download that keeps moving is worth continuing however often the connection drops.
        if (pieces.reduce((sum, piece) => sum + piece.size, 0) > offsetBefore) failures = 0;
        if (++failures > retries) {
          throw new HelexaError("download_failed", `${error.message} (${failures} attempts)`, {
            cause: error,
          });
        }
        await sleep(FIRST_BACKOFF_MS * 2 ** (failures - 1), signal);
        continue;
      }

      const blob = await assemble(cache, url, pieces);
      if (!blob || blob.size !== offset) {
        await deleteAll(cache, url);
        if (++restarts > 2) throw new HelexaError("download_failed", `${label}: stored pieces went missing`);
        continue;
      }
      if (request.sizeBytes !== undefined && blob.size !== request.sizeBytes) {
        await deleteAll(cache, url);
        throw new HelexaError(
          "checksum_mismatch",
          `${label} from ${host} is ${blob.size} bytes; the catalog says ${request.sizeBytes}`,
        );
      }
      const sha256 = await sha256OfBlob(blob, signal);
      if (request.sha256 !== undefined && sha256 !== request.sha256) {
        await deleteAll(cache, url);
        throw new HelexaError(
          "checksum_mismatch",
          `${label} from ${host} has sha256 ${sha256}; the catalog says ${request.sha256}`,
        );
      }
      const complete: CompleteManifest = { url, sizeBytes: blob.size, sha256, pieces };
      await cache.put(`${keyPrefix(url)}complete`, jsonResponse(complete));
      await cache.delete(manifestKey);
      return { blob, sha256, fromStorage: false };
    }
  }

  return {
    async open(request) {
      const parsedUrl = new URL(request.url);
      if (parsedUrl.protocol !== "http:" && parsedUrl.protocol !== "https:")
        throw new HelexaError(
          "invalid_request",
          `model files come over http or https, not ${parsedUrl.protocol}`,
        );
      if (request.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(request.sha256))
        throw new HelexaError("invalid_request", "sha256 must be 64 lower-case hex digits", {
          param: "sha256",
        });
      const cache = await openCache();
      return withLock(
        request.url,
        async () => {
          const stored = await findComplete(cache, request);
          if (stored) {
            const size = stored.blob.size;
            request.onProgress?.({
              phase: "download",
              label: `${request.label ?? labelOf(request.url)} (from browser storage)`,
              fraction: 1,
              bytes: { done: size, total: size },
            });
            return stored;
          }
          return download(cache, request);
        },
        request.signal,
      );
    },
    async has(request) {
      const cache = await openCache();
      const manifest = await readJson<CompleteManifest>(cache, `${keyPrefix(request.url)}complete`);
      return manifest !== null && (request.sha256 === undefined || manifest.sha256 === request.sha256);
    },
    async delete(url) {
      await deleteAll(await openCache(), url);
    },
  };

  async function receiveBody(context: {
    cache: Cache;
    url: string;
    body: ReadableStream<Uint8Array>;
    offset: number;
    total: number | null;
    pieces: Array<{ offset: number; size: number }>;
    report: (done: number, total: number | null, force?: boolean) => void;
    signal: AbortSignal | undefined;
  }): Promise<number> {
    const { cache, url, pieces, report, total } = context;
    let offset = context.offset;
    let buffered: Uint8Array[] = [];
    let bufferedBytes = 0;
    const flush = async () => {
      if (bufferedBytes === 0) return;
      const data = new Blob(buffered as BlobPart[]);
      await cache.put(
        pieceKey(url, offset),
        new Response(data, { headers: { "content-length": String(data.size) } }),
      );
      pieces.push({ offset, size: data.size });
      offset += data.size;
      buffered = [];
      bufferedBytes = 0;
    };
    const reader = context.body.getReader();
    try {
      for (;;) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          if (context.signal?.aborted) throw context.signal.reason;
          throw new RetryableFailure(`the download of ${labelOf(url)} broke off: ${messageOf(error)}`);
        }
        if (next.done) break;
        buffered.push(next.value);
        bufferedBytes += next.value.length;
        if (bufferedBytes >= pieceBytes) await flush();
        report(offset + bufferedBytes, total);
      }
    } finally {
      // Whatever arrived is stored even when the download stops here: the next attempt resumes after it.
      await flush().catch(() => {});
      await reader.cancel().catch(() => {});
    }
    return offset;
  }
}

async function checkFreeSpace(bytesNeeded: number, label: string): Promise<void> {
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  if (!estimate || estimate.quota === undefined || estimate.usage === undefined) return;
  const free = estimate.quota - estimate.usage;
  if (free < bytesNeeded) {
    throw new HelexaError(
      "no_capacity",
      `${label} needs ${megabytes(bytesNeeded)} of browser storage; this site may use ${megabytes(free)} more`,
    );
  }
}

function sleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, milliseconds);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

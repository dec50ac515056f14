// SPDX-License-Identifier: PolyForm-Shield-1.0
// Fetching a model file by URL: resumable through a .part file, verified by SHA-256, quick to give up when unreachable.

import { createHash } from "node:crypto";
import { mkdir, open, rename, stat, statfs, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HelexaError } from "@helexa/protocol";
import { type FileHash, hashFile } from "./hash-file.js";
import { createProgressMeter, type DownloadProgress, type ProgressMeter } from "./progress-meter.js";

export interface DownloadModelOptions {
  url: string;
  /** The final file path; the download goes to `<destination>.part` until it is verified. */
  destination: string;
  /** Lowercase or uppercase hex. Without it, only the size (when given) is checked. */
  sha256?: string;
  expectedSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Further attempts after a network failure or a 5xx; attempts that made progress do not count. */
  retries?: number;
  /** The longest wait for the response headers, and then for each next chunk of the body. */
  timeoutMs?: number;
  /** Extra request headers, an Authorization for a gated model for instance. */
  headers?: Record<string, string>;
}

export interface DownloadResult {
  path: string;
  sizeBytes: number;
  /** Of the file at `path`; null when it was already there and no checksum was asked for. */
  sha256: string | null;
  /** False when the file was already in place and nothing was fetched. */
  downloaded: boolean;
}

const defaultRetries = 3;
const defaultTimeoutMs = 15_000;
/** Short on purpose: an unreachable host should fail in about a second, not keep a terminal waiting. */
const firstBackoffMs = 150;
/** Restarts from zero (a server that ignored Range, a stale .part) that one call may make. */
const maximumRestarts = 3;
const userAgent = "helexa-models/0.1 (+https://github.com/helexa)";

/** A failure a later attempt may get past: the network, a timeout, a 5xx. */
class RetryableFailure extends Error {
  override readonly name = "RetryableFailure";
  constructor(
    readonly reason: string,
    /** Whether the server answered at all, which decides how the final error reads. */
    readonly answered: boolean,
  ) {
    super(reason);
  }
}

type AttemptOutcome = "complete" | "restart";

interface DownloadState {
  partPath: string;
  /** The hash and length of what the .part holds, kept in step with every write. */
  part: FileHash;
  /** Whether the .part still holds bytes an earlier run left, which may belong to an older file. */
  holdsEarlierRun: boolean;
  totalBytes: number | null;
  /** Bytes that came over the network in this call, which tells an attempt that moved from one that did not. */
  receivedBytes: number;
}

export async function downloadModel(options: DownloadModelOptions): Promise<DownloadResult> {
  const { destination, signal } = options;
  const expectedSha256 = options.sha256?.toLowerCase();
  if (expectedSha256 !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha256)) {
    throw new HelexaError(
      "invalid_request",
      `sha256 must be 64 hex digits, got ${JSON.stringify(options.sha256)}`,
    );
  }
  const url = parseUrl(options.url);
  const retries = Math.max(0, Math.floor(options.retries ?? defaultRetries));
  signal?.throwIfAborted();

  const existing = await findExistingFile(destination, expectedSha256, options.expectedSize, signal);
  if (existing) return existing;

  await mkdir(dirname(destination), { recursive: true });
  const partPath = `${destination}.part`;
  if (options.expectedSize !== undefined) {
    await checkFreeSpace(destination, options.expectedSize - (await sizeOf(partPath)));
  }
  const state: DownloadState = {
    partPath,
    part: emptyHash(),
    holdsEarlierRun: (await sizeOf(partPath)) > 0,
    totalBytes: options.expectedSize ?? null,
    receivedBytes: 0,
  };
  const meter = createProgressMeter({ onProgress: options.onProgress });
  let failures = 0;
  let restarts = 0;

  for (;;) {
    let outcome: AttemptOutcome;
    const receivedBefore = state.receivedBytes;
    try {
      outcome = await attempt({ url, options, state, meter });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      // Neither a wrong file nor one cut short by a full disk is worth resuming: nothing half-written stays.
      if (HelexaError.is(error) && (error.code === "checksum_mismatch" || isDiskFull(error))) {
        await unlink(partPath).catch(() => {});
      }
      if (!(error instanceof RetryableFailure)) throw error;
      // A download that keeps moving is worth continuing however often the connection drops.
      if (state.receivedBytes > receivedBefore) failures = 0;
      failures++;
      if (failures > retries) {
        const attempts = `${failures} attempt${failures === 1 ? "" : "s"}`;
        const message = error.answered
          ? `download from ${url.host} failed: ${error.reason} (${attempts})`
          : `could not reach ${url.host}: ${error.reason} (${attempts})`;
        throw new HelexaError("download_failed", message, { cause: error });
      }
      await sleep(firstBackoffMs * 2 ** (failures - 1), undefined, { signal }).catch(() => {
        throw signal?.reason;
      });
      continue;
    }
    if (outcome === "restart") {
      restarts++;
      if (restarts > maximumRestarts) {
        throw new HelexaError("download_failed", `download from ${url.host} kept restarting from zero`);
      }
      continue;
    }

    const verdict = verify(state, expectedSha256, options.expectedSize);
    if (verdict.ok) {
      meter.update(state.part.bytes, state.part.bytes, true);
      await rename(partPath, destination);
      return { path: destination, sizeBytes: state.part.bytes, sha256: verdict.sha256, downloaded: true };
    }
    await unlink(partPath).catch(() => {});
    // Bytes left by an earlier run may belong to an older version of the file: one clean try before blaming the source.
    if (state.holdsEarlierRun) {
      resetPart(state);
      continue;
    }
    throw new HelexaError(
      "checksum_mismatch",
      `${fileNameOf(destination)} from ${url.host}: ${verdict.problem}`,
    );
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new HelexaError("invalid_request", `not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new HelexaError(
      "invalid_request",
      `only http and https downloads are supported, got ${url.protocol}`,
    );
  }
  return url;
}

function emptyHash(): FileHash {
  return { hash: createHash("sha256"), bytes: 0 };
}

/** Starts the .part over from byte 0 (the caller truncates or deletes the file). */
function resetPart(state: DownloadState): void {
  state.part = emptyHash();
  state.holdsEarlierRun = false;
}

function fileNameOf(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function findExistingFile(
  destination: string,
  expectedSha256: string | undefined,
  expectedSize: number | undefined,
  signal: AbortSignal | undefined,
): Promise<DownloadResult | null> {
  let size: number;
  try {
    const info = await stat(destination);
    if (!info.isFile()) return null;
    size = info.size;
  } catch {
    return null;
  }
  if (expectedSize !== undefined && size !== expectedSize) return null;
  if (expectedSha256 === undefined)
    return { path: destination, sizeBytes: size, sha256: null, downloaded: false };
  const actual = (await hashFile(destination, signal)).hash.digest("hex");
  return actual === expectedSha256
    ? { path: destination, sizeBytes: size, sha256: actual, downloaded: false }
    : null;
}

type Verdict = { ok: true; sha256: string } | { ok: false; problem: string };

function verify(
  state: DownloadState,
  expectedSha256: string | undefined,
  expectedSize: number | undefined,
): Verdict {
  if (expectedSize !== undefined && state.part.bytes !== expectedSize) {
    return { ok: false, problem: `size mismatch: expected ${expectedSize} bytes, got ${state.part.bytes}` };
  }
  const actual = state.part.hash.digest("hex");
  if (expectedSha256 !== undefined && actual !== expectedSha256) {
    return { ok: false, problem: `checksum mismatch: expected sha256 ${expectedSha256}, got ${actual}` };
  }
  return { ok: true, sha256: actual };
}

interface AttemptContext {
  url: URL;
  options: DownloadModelOptions;
  state: DownloadState;
  meter: ProgressMeter;
}

/** One request: resumes from what the .part holds and appends the body to it. */
async function attempt(context: AttemptContext): Promise<AttemptOutcome> {
  const { url, options, state, meter } = context;
  const { partPath } = state;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;

  let offset = await sizeOf(partPath);
  if (state.totalBytes !== null && offset > state.totalBytes) {
    await unlink(partPath);
    offset = 0;
    resetPart(state);
  }
  if (offset !== state.part.bytes) {
    state.part = offset > 0 ? await hashFile(partPath, options.signal) : emptyHash();
  }
  // A .part that is already whole was cut off between its last byte and the rename.
  if (offset > 0 && offset === state.totalBytes) return "complete";
  meter.update(offset, state.totalBytes, true);

  const timeout = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
  let timer = setTimeout(() => timeout.abort(), timeoutMs);
  const restartTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => timeout.abort(), timeoutMs);
  };
  const failure = (error: unknown, answered: boolean) =>
    new RetryableFailure(
      timeout.signal.aborted ? `no answer for ${timeoutMs / 1000} s` : describeNetworkError(error),
      answered,
    );

  try {
    const headers: Record<string, string> = {
      "user-agent": userAgent,
      // Byte ranges count the bytes on the wire; a compressed body would shift them.
      "accept-encoding": "identity",
      ...options.headers,
    };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal, redirect: "follow" });
    } catch (error) {
      throw failure(error, false);
    }
    restartTimer();

    let truncate = offset === 0;
    if (response.status === 416 && offset > 0) {
      await response.body?.cancel();
      const total = totalFromContentRange(response.headers.get("content-range"));
      if (total === offset) {
        state.totalBytes = total;
        return "complete";
      }
      await unlink(partPath);
      resetPart(state);
      return "restart";
    }
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (!range || range.start !== offset) {
        await response.body?.cancel();
        await unlink(partPath).catch(() => {});
        resetPart(state);
        return "restart";
      }
      if (range.total !== null) state.totalBytes = checkTotal(range.total, options, url);
    } else if (response.status === 200) {
      // The server ignored Range (or there was none): the body is the whole file from byte 0.
      truncate = true;
      const length = Number(response.headers.get("content-length"));
      if (response.headers.has("content-length") && Number.isSafeInteger(length)) {
        state.totalBytes = checkTotal(length, options, url);
      }
    } else {
      await response.body?.cancel();
      const reason = `${url.host} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      if (retryable) throw new RetryableFailure(reason, true);
      throw new HelexaError("download_failed", `${reason} for ${url.href}`);
    }
    if (truncate) resetPart(state);
    if (!response.body) throw new RetryableFailure("the response had no body", true);

    const file = await open(partPath, truncate ? "w" : "a");
    const reader = response.body.getReader();
    try {
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw failure(error, true);
        }
        if (chunk.done) break;
        restartTimer();
        const bytes: Uint8Array = chunk.value;
        if (state.totalBytes !== null && state.part.bytes + bytes.byteLength > state.totalBytes) {
          throw new HelexaError(
            "checksum_mismatch",
            `${url.host} sends more than the ${state.totalBytes} bytes expected of ${fileNameOf(options.destination)}`,
          );
        }
        await writeAll(file, bytes, partPath);
        state.part.hash.update(bytes);
        state.part.bytes += bytes.byteLength;
        state.receivedBytes += bytes.byteLength;
        meter.update(state.part.bytes, state.totalBytes);
      }
      await file.datasync();
    } finally {
      // Frees the connection when the loop left early (a write failed); a no-op after the last chunk.
      await reader.cancel().catch(() => {});
      await file.close();
    }
    if (state.totalBytes !== null && state.part.bytes < state.totalBytes) {
      throw new RetryableFailure(
        `the connection closed at ${state.part.bytes} of ${state.totalBytes} bytes`,
        true,
      );
    }
    state.totalBytes ??= state.part.bytes;
    return "complete";
  } finally {
    clearTimeout(timer);
  }
}

/** Errors of a write that found no room: a full disk, a quota, or a file size limit (RLIMIT_FSIZE). */
const diskFullCodes = new Set(["ENOSPC", "EDQUOT", "EFBIG"]);

/** Whether a download failed for want of room, which leaves nothing behind to resume. */
export function isDiskFull(error: unknown): boolean {
  if (!HelexaError.is(error) || error.code !== "download_failed") return false;
  return diskFullCodes.has((error.cause as NodeJS.ErrnoException | undefined)?.code ?? "");
}

async function writeAll(
  file: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
  partPath: string,
): Promise<void> {
  let written = 0;
  try {
    // A write may take only part of the buffer (a file size limit reached), and says so only by its count.
    while (written < bytes.byteLength) {
      const { bytesWritten } = await file.write(bytes, written, bytes.byteLength - written);
      written += bytesWritten;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (diskFullCodes.has(code)) {
      throw new HelexaError(
        "download_failed",
        `no room to write ${fileNameOf(partPath)} in ${dirname(partPath)}: ${
          code === "EFBIG" ? "the file size limit was reached" : "the disk is full"
        } (${code})`,
        { cause: error },
      );
    }
    throw new HelexaError("download_failed", `could not write ${partPath}: ${code || String(error)}`, {
      cause: error,
    });
  }
}

/** Refuses before fetching a byte when the disk cannot hold the file; where statfs is missing, writing finds out. */
async function checkFreeSpace(destination: string, neededBytes: number): Promise<void> {
  if (neededBytes <= 0) return;
  let freeBytes: number;
  try {
    const info = await statfs(dirname(destination));
    freeBytes = Number(info.bavail) * Number(info.bsize);
  } catch {
    return;
  }
  if (freeBytes >= neededBytes) return;
  const error = Object.assign(new Error("not enough free space"), { code: "ENOSPC" });
  throw new HelexaError(
    "download_failed",
    `no room for ${fileNameOf(destination)} in ${dirname(destination)}: it needs ${describeBytes(neededBytes)} more, the disk has ${describeBytes(freeBytes)} free (ENOSPC)`,
    { cause: error },
  );
}

function describeBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1e3)} kB`;
}

/** A server whose size differs from the catalog's serves another file; better said before fetching it. */
function checkTotal(total: number, options: DownloadModelOptions, url: URL): number {
  if (options.expectedSize !== undefined && total !== options.expectedSize) {
    throw new HelexaError(
      "checksum_mismatch",
      `${url.host} serves ${total} bytes for ${fileNameOf(options.destination)}, expected ${options.expectedSize}`,
    );
  }
  return total;
}

function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const match = header ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!match) return null;
  return { start: Number(match[1]), total: match[3] === "*" ? null : Number(match[3]) };
}

function totalFromContentRange(header: string | null): number | null {
  const match = header ? /^bytes \*\/(\d+)$/.exec(header.trim()) : null;
  return match ? Number(match[1]) : null;
}

const networkErrorNames: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name lookup failed",
  ENETUNREACH: "network unreachable",
  EHOSTUNREACH: "host unreachable",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed",
  UND_ERR_HEADERS_TIMEOUT: "no answer",
  UND_ERR_BODY_TIMEOUT: "the transfer stalled",
};

/** fetch reports "fetch failed" and hides the reason in a chain of causes; this digs it out as one phrase. */
function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  let fallback = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && networkErrorNames[code]) return `${networkErrorNames[code]} (${code})`;
    const inner = current instanceof AggregateError ? current.errors[0] : undefined;
    if (current.message && current.message !== "fetch failed") fallback = current.message;
    current = current.cause ?? inner;
  }
  return fallback;
}

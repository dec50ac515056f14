// SPDX-License-Identifier: PolyForm-Shield-1.0
// A local HTTP server for the browser tests: the bundles, a test page, and model files with Range, ETag and faults.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";

export interface ServedRequest {
  path: string;
  range: string | null;
  ifRange: string | null;
  status: number;
  /** Body bytes written before the response ended or was cut. */
  bytesSent: number;
}

export interface FileFaults {
  /** The next full or ranged answer is cut (socket destroyed) after this many body bytes. */
  cutNextAfterBytes?: number;
  /** Every request answers 503 while set. */
  unavailable?: boolean;
  /** Sets `unavailable` once the cut has happened: the retries that follow find the server down. */
  unavailableAfterCut?: boolean;
}

export interface EngineTestServer extends AsyncDisposable {
  origin: string;
  requests: ServedRequest[];
  /** Serves `data` at `path` with a strong ETag (its sha256), Range and If-Range. */
  addFile(path: string, data: Uint8Array, contentType?: string): void;
  faults(path: string): FileFaults;
  requestsFor(path: string): ServedRequest[];
}

const contentTypes: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".html": "text/html; charset=utf-8",
};

/** The page the tests drive: it only exposes the published library and a few helpers to page.evaluate. */
const harnessScript = `
import * as helexa from "/browser/browser-neuron.js";
let client = null;
const plain = (error) => ({ code: error.code ?? "unknown", message: error.message ?? String(error) });
window.harness = {
  async load(model, preferences) {
    client ??= helexa.createEngineClient({ workerUrl: "/browser/engine-worker.js" });
    const progress = [];
    try {
      const ready = await client.load(model, { preferences, onProgress: (event) => progress.push(event) });
      return { ready, progress, kind: client.kind, engine: client.engine, models: client.models() };
    } catch (error) {
      return { error: plain(error), progress };
    }
  },
  async generate(request, options = {}) {
    const controller = new AbortController();
    const parts = [];
    let deltas = 0;
    let ticks = 0;
    let longestGap = 0;
    let last = performance.now();
    const timer = options.measureTicks
      ? setInterval(() => {
          const now = performance.now();
          longestGap = Math.max(longestGap, now - last);
          last = now;
          ticks++;
        }, 10)
      : null;
    const started = performance.now();
    for await (const part of client.doStream({ request, abortSignal: controller.signal })) {
      parts.push(part.type === "error" ? { type: "error", error: plain(part.error) } : part);
      if (part.type === "text-delta" && ++deltas === options.abortAfterDeltas) {
        options.abortedAt = performance.now();
        controller.abort();
      }
    }
    if (timer) clearInterval(timer);
    const finished = performance.now();
    return {
      parts,
      elapsedMs: finished - started,
      finishAfterAbortMs: options.abortedAt ? finished - options.abortedAt : null,
      ticks,
      longestGapMs: longestGap,
    };
  },
  detect: async (model, preferences) => {
    try {
      return await helexa.detectEngine({ model, preferences });
    } catch (error) {
      return { error: plain(error) };
    }
  },
  storeHas: (request) => helexa.createModelStore().has(request),
  async storedKeys(url) {
    const cache = await caches.open(helexa.DEFAULT_MODEL_CACHE_NAME);
    const marker = encodeURIComponent(url);
    return (await cache.keys()).map((request) => request.url).filter((key) => key.includes(marker));
  },
  async sha256WithSubtle(url) {
    const bytes = await (await fetch(url, { cache: "no-store" })).arrayBuffer();
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  },
  unload: () => client?.unload(),
  async loadAndAbort(model) {
    const aborting = helexa.createEngineClient({ workerUrl: "/browser/engine-worker.js" });
    const controller = new AbortController();
    try {
      await aborting.load(model, { signal: controller.signal, onProgress: () => controller.abort() });
      return { loaded: true };
    } catch (error) {
      return { error: plain(error) };
    } finally {
      await aborting[Symbol.asyncDispose]();
    }
  },
  async loadWithWorker(workerUrl, model) {
    const other = helexa.createEngineClient({ workerUrl });
    try {
      await other.load(model);
      return { loaded: true };
    } catch (error) {
      return { error: plain(error) };
    } finally {
      await other[Symbol.asyncDispose]();
    }
  },
};
window.harnessReady = true;
`;

const page = `<!doctype html>
<meta charset="utf-8">
<title>helexa browser engine test</title>
<script type="module" src="/harness.js"></script>
`;

function parseRange(header: string, size: number): { start: number; end: number } | null {
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
  return start <= end ? { start, end } : null;
}

export async function startEngineTestServer(options: {
  bundleDirectory: string;
  /** Sends COOP and COEP with every answer: the page is cross-origin isolated and may use threads. */
  isolated?: boolean;
}): Promise<EngineTestServer> {
  const files = new Map<string, { data: Uint8Array; etag: string; contentType: string }>();
  const faults = new Map<string, FileFaults>();
  const requests: ServedRequest[] = [];

  function serveFile(request: IncomingMessage, response: ServerResponse, path: string): void {
    const file = files.get(path)!;
    const fault = faults.get(path) ?? {};
    const record: ServedRequest = {
      path,
      range: request.headers.range ?? null,
      ifRange: (request.headers["if-range"] as string | undefined) ?? null,
      status: 200,
      bytesSent: 0,
    };
    requests.push(record);
    if (fault.unavailable) {
      record.status = 503;
      response.writeHead(503).end();
      return;
    }
    const size = file.data.length;
    const headers: Record<string, string | number> = {
      "content-type": file.contentType,
      "accept-ranges": "bytes",
      etag: file.etag,
      "cache-control": "public, max-age=31536000, immutable",
    };
    let start = 0;
    let end = size - 1;
    const rangeApplies = record.range !== null && (record.ifRange === null || record.ifRange === file.etag);
    if (rangeApplies) {
      const range = parseRange(record.range!, size);
      if (!range) {
        record.status = 416;
        response.writeHead(416, { "content-range": `bytes */${size}` }).end();
        return;
      }
      ({ start, end } = range);
      record.status = 206;
      headers["content-range"] = `bytes ${start}-${end}/${size}`;
    }
    headers["content-length"] = end - start + 1;
    response.writeHead(record.status, headers);
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    const body = file.data.subarray(start, end + 1);
    const cutAfter = fault.cutNextAfterBytes;
    if (cutAfter !== undefined) {
      delete fault.cutNextAfterBytes;
      if (fault.unavailableAfterCut) fault.unavailable = true;
      const sent = body.subarray(0, cutAfter);
      record.bytesSent = sent.length;
      // Written, then the connection dropped mid-body: what a lost network looks like to the browser.
      response.write(sent, () => setTimeout(() => request.socket.destroy(), 250));
      return;
    }
    record.bytesSent = body.length;
    response.end(body);
  }

  const server = createServer((request, response) => {
    if (options.isolated) {
      response.setHeader("cross-origin-opener-policy", "same-origin");
      response.setHeader("cross-origin-embedder-policy", "require-corp");
    }
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (files.has(path)) {
      serveFile(request, response, path);
      return;
    }
    requests.push({ path, range: null, ifRange: null, status: 200, bytesSent: 0 });
    if (path === "/" || path === "/index.html") {
      response.writeHead(200, { "content-type": contentTypes[".html"]! }).end(page);
      return;
    }
    if (path === "/favicon.ico") {
      response.writeHead(204).end();
      return;
    }
    if (path === "/harness.js") {
      response.writeHead(200, { "content-type": contentTypes[".js"]! }).end(harnessScript);
      return;
    }
    if (path.startsWith("/browser/")) {
      const relative = normalize(path.slice("/browser/".length));
      if (relative.startsWith("..")) {
        response.writeHead(403).end();
        return;
      }
      readFile(join(options.bundleDirectory, relative)).then(
        (data) => {
          response.writeHead(200, {
            "content-type": contentTypes[extname(relative)] ?? "application/octet-stream",
          });
          response.end(data);
        },
        () => {
          requests.at(-1)!.status = 404;
          response.writeHead(404).end();
        },
      );
      return;
    }
    requests.at(-1)!.status = 404;
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    addFile(path, data, contentType = "application/octet-stream") {
      const etag = `"${createHash("sha256").update(data).digest("hex")}"`;
      files.set(path, { data, etag, contentType });
    },
    faults(path) {
      const fault = faults.get(path) ?? {};
      faults.set(path, fault);
      return fault;
    },
    requestsFor(path) {
      return requests.filter((request) => request.path === path);
    },
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// GET /browser-neuron/<file> on the portal socket: the /donate page's engine and link bundles, and wllama's WASM.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { browserBundleDirectory } from "@helexa/browser-neuron/bundle";

export const browserBundlePrefix = "/browser-neuron/";

const contentTypes: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
};

/** One plain file name with a known extension: nothing that could climb out of the folder. */
const fileName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/**
 * Serves the built bundle folder. The files change when helexa is upgraded, so they are revalidated
 * (ETag from size and modification time) rather than cached for good; a second visit gets 304s.
 */
export async function serveBrowserBundle(
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  directory: string = browserBundleDirectory,
): Promise<void> {
  let name: string;
  try {
    name = decodeURIComponent(path.slice(browserBundlePrefix.length));
  } catch {
    return plain(response, 404, "no such file");
  }
  const extension = name.slice(name.lastIndexOf("."));
  const type = contentTypes[extension];
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("allow", "GET, HEAD");
    return plain(response, 405, "GET or HEAD only");
  }
  if (!fileName.test(name) || name.includes("..") || !type) return plain(response, 404, "no such file");
  const file = join(directory, name);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) {
    return plain(
      response,
      404,
      "no such file (the browser bundles are built by `npm run build -w @helexa/browser-neuron`)",
    );
  }
  const etag = `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}"`;
  response.setHeader("etag", etag);
  response.setHeader("cache-control", "public, max-age=0, must-revalidate");
  // The page is cross-origin isolated (for wllama's threads): its scripts must say they may be embedded,
  // and a worker started from one must be isolated too, or Chromium blocks it (ERR_BLOCKED_BY_RESPONSE).
  response.setHeader("cross-origin-resource-policy", "same-origin");
  response.setHeader("cross-origin-embedder-policy", "require-corp");
  if (request.headers["if-none-match"] === etag) {
    response.statusCode = 304;
    response.end();
    return;
  }
  response.statusCode = 200;
  response.setHeader("content-type", type);
  response.setHeader("content-length", info.size);
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file);
    stream.on("error", reject);
    response.on("close", () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(response).on("finish", resolve);
  });
}

function plain(response: ServerResponse, status: number, message: string): void {
  response.statusCode = status;
  response.setHeader("content-type", "text/plain; charset=utf-8");
  response.end(message);
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// GET /models/<catalog id>/file on the portal socket: the catalog's model files for browser tabs, with Range, ETag and immutable caching.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Logger } from "@helexa/log";
import { downloadModel, hashFile, modelFileNameFromUrl } from "@helexa/models";
import { HelexaError, modelIdSchema } from "@helexa/protocol";

/** What the route reads of a catalog entry. */
export interface CatalogModelFile {
  id: string;
  sourceUrl: string | null;
  sha256: string | null;
  sizeBytes: number | null;
}

export interface ModelFilesOptions {
  catalog: { getModel(modelId: string): Promise<CatalogModelFile | null> };
  /** cortex's model cache (`cortex.modelsDir`); `helexa up` shares its neuron's. */
  modelsDir: string;
  log: Logger;
  /** Fetches a file into the cache; `downloadModel` of @helexa/models (sha256 checked) by default. */
  download?: typeof downloadModel;
}

/** Handles `/models/<id>/file` (other paths get a JSON 404); the portal passes it those paths alone. */
export type ModelFilesHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

const pathPattern = /^\/models\/(.+)\/file$/;
/** The file never changes under its URL: a new file is a new sha256, which the catalog gives a new ETag. */
const cacheControl = "public, max-age=31536000, immutable";

interface CachedFile {
  path: string;
  size: number;
}

export function createModelFilesHandler(options: ModelFilesOptions): ModelFilesHandler {
  const { catalog, modelsDir, log } = options;
  const download = options.download ?? downloadModel;
  /** One verified file per model and checksum; concurrent first requests share its download. */
  const files = new Map<string, Promise<CachedFile>>();

  async function fileFor(
    model: CatalogModelFile & { sourceUrl: string; sha256: string },
  ): Promise<CachedFile> {
    const key = `${model.id}\n${model.sha256}`;
    let pending = files.get(key);
    if (!pending) {
      pending = ensureFile(model);
      files.set(key, pending);
      pending.catch(() => files.delete(key));
    }
    const file = await pending;
    // Removed from the cache behind cortex's back: fetched again.
    const present = await stat(file.path).then(
      (info) => info.isFile() && info.size === file.size,
      () => false,
    );
    if (present) return file;
    files.delete(key);
    return fileFor(model);
  }

  /**
   * The model's file in the cache, checked against the catalog's sha256 (once per cortex run): under
   * its URL's file name, where `helexa up`'s neuron downloads its model too; when another file already
   * has that name (a different model's), under the name prefixed with the checksum.
   */
  async function ensureFile(
    model: CatalogModelFile & { sourceUrl: string; sha256: string },
  ): Promise<CachedFile> {
    const name = modelFileNameFromUrl(model.sourceUrl);
    const plain = join(modelsDir, name);
    const plainSize = await stat(plain).then(
      (info) => (info.isFile() ? info.size : null),
      () => null,
    );
    if (plainSize !== null && (model.sizeBytes === null || plainSize === model.sizeBytes)) {
      if ((await hashFile(plain)).hash.digest("hex") === model.sha256)
        return { path: plain, size: plainSize };
    }
    const destination = plainSize === null ? plain : join(modelsDir, `${model.sha256.slice(0, 16)}-${name}`);
    log.info("models.fetching", { model: model.id, url: model.sourceUrl, destination });
    const result = await download({
      url: model.sourceUrl,
      destination,
      sha256: model.sha256,
      ...(model.sizeBytes !== null ? { expectedSize: model.sizeBytes } : {}),
    });
    if (result.downloaded) log.info("models.fetched", { model: model.id, bytes: result.sizeBytes });
    return { path: result.path, size: result.sizeBytes };
  }

  return async (request, response) => {
    const url = new URL(request.url ?? "/", "http://portal.invalid");
    const match = pathPattern.exec(url.pathname);
    let modelId: string | null = null;
    try {
      modelId = match?.[1] ? decodeURIComponent(match[1]) : null;
    } catch {
      // A malformed escape names no model.
    }
    const parsed = modelIdSchema.safeParse(modelId);
    if (!parsed.success) {
      return fail(
        response,
        new HelexaError("not_found", `no model file at ${url.pathname}: use /models/<model id>/file`),
      );
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.setHeader("allow", "GET, HEAD");
      return fail(response, new HelexaError("invalid_request", "only GET and HEAD are served here"), 405);
    }
    const model = await catalog.getModel(parsed.data);
    if (!model)
      return fail(
        response,
        new HelexaError("model_not_found", `The model \`${parsed.data}\` does not exist.`),
      );
    if (!model.sourceUrl || !model.sha256) {
      return fail(
        response,
        new HelexaError(
          "not_found",
          `the catalog has no checked file for ${model.id}: an admin sets its source URL and sha256`,
        ),
      );
    }
    const sha256 = model.sha256.toLowerCase();
    const etag = `"${sha256}"`;
    const validators = { etag, "cache-control": cacheControl };
    if (matchesEtag(request.headers["if-none-match"], etag)) {
      response.writeHead(304, validators).end();
      return;
    }
    let file: CachedFile;
    try {
      file = await fileFor({ ...model, sourceUrl: model.sourceUrl, sha256 });
    } catch (error) {
      const failure = HelexaError.is(error) ? error : new HelexaError("download_failed", String(error));
      log.warn("models.fetch_failed", { model: model.id, code: failure.code, error: failure.message });
      return fail(response, failure);
    }

    const headers: Record<string, string | number> = {
      ...validators,
      "accept-ranges": "bytes",
      "content-type": "application/octet-stream",
    };
    const ifRange = request.headers["if-range"];
    const range =
      ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, file.size) : null;
    if (range === "unsatisfiable") {
      response.writeHead(416, {
        ...headers,
        "content-range": `bytes */${file.size}`,
        "content-type": "application/json",
      });
      response.end(
        JSON.stringify({
          error: new HelexaError(
            "invalid_request",
            `the range is not within the file's ${file.size} bytes`,
          ).toWire(),
        }),
      );
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    headers["content-length"] = Math.max(0, end - start + 1);
    if (range) headers["content-range"] = `bytes ${start}-${end}/${file.size}`;
    response.writeHead(range ? 206 : 200, headers);
    if (request.method === "HEAD" || file.size === 0) {
      response.end();
      return;
    }
    await pipeline(createReadStream(file.path, { start, end }), response).catch((error: unknown) => {
      // A reader that goes away mid-file is normal (a tab closed); anything else is worth a line.
      if ((error as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE")
        log.warn("models.send_failed", { model: model.id, error: String(error) });
    });
  };
}

/** A strong comparison against one ETag; `*` matches any. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

/**
 * One byte range of `bytes=first-last`, `bytes=first-` or `bytes=-suffix`, clamped to the file. Null
 * serves the whole file: no Range, a unit other than bytes, or several ranges (which this server need not
 * combine, and may ignore). A bytes range that is malformed or lies outside the file is "unsatisfiable".
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | null {
  if (!header) return null;
  const spec = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!spec) return null;
  const set = spec[1]!;
  if (set.includes(",")) return null;
  const parts = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(set);
  if (!parts || (parts[1] === "" && parts[2] === "")) return "unsatisfiable";
  if (parts[1] === "") {
    const suffix = Number(parts[2]);
    if (!Number.isSafeInteger(suffix) || suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(parts[1]);
  const last = parts[2] === "" ? size - 1 : Number(parts[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last) || last < start || start >= size) {
    return "unsatisfiable";
  }
  return { start, end: Math.min(last, size - 1) };
}

function fail(response: ServerResponse, error: HelexaError, status = error.status): void {
  if (response.headersSent) {
    response.destroy(error);
    return;
  }
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify({ error: error.toWire() }));
}

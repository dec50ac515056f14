// SPDX-License-Identifier: PolyForm-Shield-1.0
// From what a user names as a model (a path, a URL, the default model's id) to a file on this machine.

import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HelexaError } from "@helexa/protocol";
import { defaultModel } from "./default-model.js";
import { downloadModel } from "./download-model.js";
import type { DownloadProgress } from "./progress-meter.js";

export interface ResolveModelSourceOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Checks for a URL download; the default model's are known and used without asking. */
  sha256?: string;
  expectedSize?: number;
  retries?: number;
  timeoutMs?: number;
}

/**
 * The local path of a model: a path is checked and returned (a bare file name is also looked for in
 * modelsDir), an http(s) URL is downloaded into modelsDir, and the default model's id fetches it.
 */
export async function resolveModelSource(
  pathOrUrl: string,
  modelsDir: string,
  options: ResolveModelSourceOptions = {},
): Promise<string> {
  const source = pathOrUrl.trim();
  if (source === defaultModel.id || source === defaultModel.url) {
    return download(defaultModel.url, modelsDir, {
      sha256: defaultModel.sha256,
      expectedSize: defaultModel.sizeBytes,
      ...options,
    });
  }
  if (/^https?:\/\//i.test(source)) return download(source, modelsDir, options);
  return findLocalFile(source.startsWith("file:") ? fileURLToPath(source) : source, modelsDir);
}

async function download(url: string, modelsDir: string, options: ResolveModelSourceOptions): Promise<string> {
  const fileName = modelFileNameFromUrl(url);
  const result = await downloadModel({ ...options, url, destination: join(modelsDir, fileName) });
  return result.path;
}

/** The file a model URL is stored as in the models dir: the URL's last path segment. */
export function modelFileNameFromUrl(url: string): string {
  let name = "";
  try {
    name = decodeURIComponent(new URL(url).pathname.split("/").pop() ?? "");
  } catch {
    throw new HelexaError("invalid_request", `not a model URL: ${JSON.stringify(url)}`);
  }
  // The name becomes a path under modelsDir; nothing in it may step outside.
  if (!name || name === "." || name === ".." || /[\\/\0]/.test(name)) {
    throw new HelexaError("invalid_request", `the model URL names no file: ${url}`);
  }
  return name;
}

async function findLocalFile(path: string, modelsDir: string): Promise<string> {
  const expanded = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  const candidates = [resolve(expanded)];
  if (!isAbsolute(expanded) && basename(expanded) === expanded) candidates.push(resolve(modelsDir, expanded));
  for (const candidate of candidates) {
    try {
      const info = await stat(candidate);
      if (info.isFile()) return candidate;
      throw new HelexaError("model_invalid", `the model path is not a file: ${candidate}`);
    } catch (error) {
      if (HelexaError.is(error)) throw error;
    }
  }
  throw new HelexaError("model_not_found", `model file not found: ${candidates.join(" or ")}`);
}

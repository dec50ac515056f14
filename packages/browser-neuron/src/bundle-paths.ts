// SPDX-License-Identifier: PolyForm-Shield-1.0
// Where the built browser bundles are on disk, for the server that serves them to the /donate page (Node only).

import { fileURLToPath } from "node:url";

/**
 * The folder `npm run build -w @helexa/browser-neuron` fills: serve all of it under one URL prefix. Send
 * wllama.wasm as application/wasm; send COOP `same-origin` and COEP `require-corp` on the page to let wllama
 * use more than one thread.
 */
export const browserBundleDirectory = fileURLToPath(new URL("./browser/", import.meta.url));

/** The files in it a page names; the rest are chunks these load themselves. */
export const browserBundleFiles = {
  /** ESM library for the page: createEngineClient, detectEngine, createModelStore. */
  library: "browser-neuron.js",
  /** The engine worker: `createEngineClient({ workerUrl: prefix + browserBundleFiles.worker })`. */
  worker: "engine-worker.js",
  /** llama.cpp for wllama, fetched by the worker from next to itself. */
  wllamaWasm: "wllama.wasm",
} as const;

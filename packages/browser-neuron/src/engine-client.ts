// SPDX-License-Identifier: PolyForm-Shield-1.0
// The page's side of the engine worker: loads a model there and presents it as a LanguageModelRuntime.

import { HelexaError } from "@helexa/protocol";
import {
  generateFromStream,
  type LanguageModelRuntime,
  type ProgressEvent,
  RUNTIME_SPECIFICATION_VERSION,
  type RuntimeModel,
  type StreamOptions,
  type StreamPart,
} from "@helexa/runtime";
import {
  type BrowserModel,
  type EnginePreferences,
  type EngineReady,
  type PageToWorkerMessage,
  workerToPageMessageSchema,
} from "./engine-messages.js";
import { PushQueue } from "./push-queue.js";

export interface EngineClientOptions {
  /** Where engine-worker.js is served (see `@helexa/browser-neuron/bundle`); ignored when `worker` is given. */
  workerUrl?: string | URL;
  /** A worker already started from engine-worker.js. */
  worker?: Worker;
}

export interface LoadOptions {
  preferences?: EnginePreferences;
  /** Download and load progress, for the progress bars. */
  onProgress?: (event: ProgressEvent) => void;
  /** Aborting stops the download or load; the load then rejects with job_cancelled. */
  signal?: AbortSignal;
}

/** The engine worker as a runtime: `load` a model first, then `doStream` as with any native runtime. */
export interface EngineClient extends LanguageModelRuntime {
  load(model: BrowserModel, options?: LoadOptions): Promise<EngineReady>;
  unload(): Promise<void>;
  /** What the worker said when the model became ready: the engine, the reason for it, the context length. */
  readonly ready: EngineReady | null;
}

interface PendingLoad {
  resolve: (ready: EngineReady) => void;
  reject: (error: HelexaError) => void;
  onProgress: ((event: ProgressEvent) => void) | undefined;
}

function absolute(url: string): string {
  return new URL(url, globalThis.location?.href).href;
}

/** Relative URLs (as a page on cortex's own origin would write them) are resolved against the page. */
function resolveUrls(model: BrowserModel): BrowserModel {
  return {
    ...model,
    url: absolute(model.url),
    ...(model.mlc
      ? {
          mlc: {
            ...model.mlc,
            modelUrl: absolute(model.mlc.modelUrl),
            modelLibraryUrl: absolute(model.mlc.modelLibraryUrl),
          },
        }
      : {}),
  };
}

function newJobId(): string {
  return typeof crypto.randomUUID === "function"
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function createEngineClient(options: EngineClientOptions = {}): EngineClient {
  const worker =
    options.worker ??
    (() => {
      if (!options.workerUrl)
        throw new HelexaError("invalid_request", "createEngineClient needs worker or workerUrl");
      return new Worker(options.workerUrl, { type: "module", name: "helexa-engine" });
    })();
  let ready: EngineReady | null = null;
  let pendingLoad: PendingLoad | null = null;
  const pendingUnloads: Array<() => void> = [];
  const jobs = new Map<string, PushQueue<StreamPart>>();
  let failed: HelexaError | null = null;

  const send = (message: PageToWorkerMessage) => worker.postMessage(message);

  function failEverything(error: HelexaError): void {
    failed = error;
    ready = null;
    pendingLoad?.reject(error);
    pendingLoad = null;
    for (const [jobId, queue] of jobs) {
      queue.push({ type: "error", error });
      queue.end();
      jobs.delete(jobId);
    }
    for (const resolve of pendingUnloads.splice(0)) resolve();
  }

  worker.addEventListener("message", (event: MessageEvent<unknown>) => {
    const parsed = workerToPageMessageSchema.safeParse(event.data);
    if (!parsed.success) {
      failEverything(new HelexaError("protocol_violation", `the engine worker sent a malformed message`));
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case "progress": {
        const { type: _type, bytes, ...event } = message;
        pendingLoad?.onProgress?.({ ...event, ...(bytes ? { bytes } : {}) });
        break;
      }
      case "ready":
        ready = message.ready;
        pendingLoad?.resolve(message.ready);
        pendingLoad = null;
        break;
      case "load-error":
        pendingLoad?.reject(HelexaError.fromWire(message.error));
        pendingLoad = null;
        break;
      case "delta":
        jobs.get(message.jobId)?.push({
          type: "text-delta",
          text: message.text,
          ...(message.usage ? { usage: message.usage } : {}),
          ...(message.tokens ? { tokens: message.tokens } : {}),
        });
        break;
      case "finish":
      case "error": {
        const queue = jobs.get(message.jobId);
        jobs.delete(message.jobId);
        queue?.push(
          message.type === "finish"
            ? { type: "finish", finishReason: message.finishReason, usage: message.usage }
            : { type: "error", error: HelexaError.fromWire(message.error) },
        );
        queue?.end();
        break;
      }
      case "unloaded":
        pendingUnloads.shift()?.();
        break;
    }
  });
  worker.addEventListener("error", (event: ErrorEvent) => {
    event.preventDefault();
    failEverything(
      new HelexaError("internal", `the engine worker failed: ${event.message || "it did not start"}`),
    );
  });

  async function* doStream({
    request,
    abortSignal,
    providerOptions,
  }: StreamOptions): AsyncIterable<StreamPart> {
    if (failed) {
      yield { type: "error", error: failed };
      return;
    }
    if (!ready) {
      yield { type: "error", error: new HelexaError("no_capacity", "no model is loaded in this tab") };
      return;
    }
    if (abortSignal?.aborted) {
      yield { type: "finish", finishReason: "cancelled", usage: { promptTokens: 0, completionTokens: 0 } };
      return;
    }
    const jobId = newJobId();
    const queue = new PushQueue<StreamPart>();
    jobs.set(jobId, queue);
    const onAbort = () => send({ type: "cancel", jobId });
    abortSignal?.addEventListener("abort", onAbort, { once: true });
    send({ type: "generate", jobId, request, ...(providerOptions ? { providerOptions } : {}) });
    try {
      for await (const part of queue) yield part;
    } finally {
      abortSignal?.removeEventListener("abort", onAbort);
      // A consumer that stops reading early stops the generation in the worker too.
      if (jobs.delete(jobId)) send({ type: "cancel", jobId });
    }
  }

  const client: EngineClient = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    get kind() {
      return ready?.engine ?? "browser";
    },
    get engine() {
      return ready?.description ?? "browser engine (no model loaded)";
    },
    slots: 1,
    get ready() {
      return ready;
    },
    models(): RuntimeModel[] {
      return ready ? [ready.model] : [];
    },
    doStream,
    doGenerate: (streamOptions) => generateFromStream(client, streamOptions),
    load(model, loadOptions = {}) {
      if (failed) return Promise.reject(failed);
      if (pendingLoad)
        return Promise.reject(new HelexaError("invalid_request", "a model is already loading"));
      const { signal } = loadOptions;
      if (signal?.aborted) return Promise.reject(new HelexaError("job_cancelled", "the load was cancelled"));
      ready = null;
      return new Promise<EngineReady>((resolve, reject) => {
        const onAbort = () => {
          // The worker answers this unload too: its "unloaded" must not resolve a later unload() early.
          pendingUnloads.push(() => {});
          send({ type: "unload" });
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        pendingLoad = {
          resolve: (value) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(value);
          },
          reject: (error) => {
            signal?.removeEventListener("abort", onAbort);
            reject(error);
          },
          onProgress: loadOptions.onProgress,
        };
        send({
          type: "load",
          model: resolveUrls(model),
          ...(loadOptions.preferences ? { preferences: loadOptions.preferences } : {}),
        });
      });
    },
    unload() {
      ready = null;
      if (failed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        pendingUnloads.push(resolve);
        send({ type: "unload" });
      });
    },
    async [Symbol.asyncDispose]() {
      await client.unload();
      worker.terminate();
      failEverything(new HelexaError("no_capacity", "the engine client was disposed"));
    },
  };
  return client;
}

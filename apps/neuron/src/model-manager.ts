// SPDX-License-Identifier: PolyForm-Shield-1.0
// The models cortex asks a neuron for: download (checked) into the models dir, load into the runtime, unload; within a memory budget.

import { unlink } from "node:fs/promises";
import { totalmem } from "node:os";
import { join } from "node:path";
import type { Logger } from "@helexa/log";
import { downloadModel, isDiskFull, modelFileNameFromUrl } from "@helexa/models";
import { HelexaError, type ModelLoad } from "@helexa/protocol";
import type { LanguageModelRuntime, RuntimeModel } from "@helexa/runtime";

/** How far one model's load has come. */
export interface ModelLoadProgress {
  modelId: string;
  phase: "download" | "load";
  /** From 0 to 1; null while unknown. */
  fraction: number | null;
  /** Bytes downloaded so far (download), or the file's size (load). */
  bytes: number;
  totalBytes: number | null;
  bytesPerSecond?: number;
}

export type ModelManagerEvent =
  | ({ type: "progress" } & ModelLoadProgress)
  | { type: "loaded"; modelId: string; sizeBytes: number; downloaded: boolean; seconds: number }
  | { type: "failed"; modelId: string; error: HelexaError }
  | { type: "unloaded"; modelId: string };

export interface ModelManagerOptions {
  /** Must be able to load and unload models (`ModelManager.supports`). */
  runtime: LanguageModelRuntime;
  modelsDir: string;
  /** The most bytes of model files loaded at once; a load past it is refused. */
  memoryBudgetBytes: number;
  /** This neuron's name, for error messages cortex passes on to clients. */
  neuronName: string;
  onEvent?: (event: ModelManagerEvent) => void;
  log?: Logger;
  /** The most tokens of context a provisioned model gets, whatever the catalog allows (default 8192). */
  contextLengthCap?: number;
  /** Download retries and per-chunk timeout, for tests. */
  download?: { retries?: number; timeoutMs?: number };
}

interface PendingLoad {
  sizeBytes: number;
  promise: Promise<RuntimeModel>;
  abort: AbortController;
  /** The latest progress, which the load updates as it goes. */
  state: { progress: ModelLoadProgress | null };
}

const defaultContextLengthCap = 8192;

/**
 * Half the machine's memory: model files are mapped whole, and the rest is left for their contexts (the KV
 * cache of every slot), the runtime and the system.
 */
export function defaultMemoryBudgetBytes(): number {
  return Math.floor(totalmem() / 2);
}

/** Whether a runtime can load and unload models while it runs (llama.cpp can; an upstream engine cannot). */
function supportsLoading(runtime: LanguageModelRuntime): boolean {
  return typeof runtime.loadModel === "function" && typeof runtime.unloadModel === "function";
}

/**
 * Loads what cortex asks for, one model at a time per id, and refuses a load its memory budget cannot
 * hold (cortex unloads the least recently used model first, so a refusal means the two disagreed). A
 * checksum mismatch or a full disk fails the load with an error naming the model, and leaves no partial
 * file in the models dir; a file already there with the right checksum is loaded without a download.
 */
export class ModelManager {
  readonly memoryBudgetBytes: number;
  readonly #options: ModelManagerOptions;
  readonly #pending = new Map<string, PendingLoad>();
  readonly #unloading = new Map<string, Promise<void>>();

  static supports(runtime: LanguageModelRuntime): boolean {
    return supportsLoading(runtime);
  }

  constructor(options: ModelManagerOptions) {
    surviveFileSizeLimit();
    if (!supportsLoading(options.runtime)) {
      throw new HelexaError(
        "invalid_request",
        `the ${options.runtime.kind} runtime cannot load models on request`,
      );
    }
    this.#options = options;
    this.memoryBudgetBytes = options.memoryBudgetBytes;
  }

  /** Bytes of the loaded models plus those being loaded now. */
  usedBytes(): number {
    let used = 0;
    for (const model of this.#options.runtime.models()) used += model.sizeBytes ?? 0;
    for (const pending of this.#pending.values()) used += pending.sizeBytes;
    return used;
  }

  /** The loads under way, with their latest progress. */
  loading(): Array<{ modelId: string; sizeBytes: number; progress: ModelLoadProgress | null }> {
    return [...this.#pending].map(([modelId, pending]) => ({
      modelId,
      sizeBytes: pending.sizeBytes,
      progress: pending.state.progress,
    }));
  }

  /** Downloads (unless the checked file is there) and loads the model; resolves once the runtime serves it. */
  load(command: Omit<ModelLoad, "type">): Promise<RuntimeModel> {
    const loaded = this.#loaded(command.modelId);
    if (loaded) return Promise.resolve(loaded);
    const pending = this.#pending.get(command.modelId);
    if (pending) return pending.promise;
    const abort = new AbortController();
    const state: PendingLoad["state"] = { progress: null };
    const promise: Promise<RuntimeModel> = this.#run(command, abort.signal, state).finally(() => {
      if (this.#pending.get(command.modelId)?.promise === promise) this.#pending.delete(command.modelId);
    });
    this.#pending.set(command.modelId, { sizeBytes: command.sizeBytes, abort, state, promise });
    return promise;
  }

  /** Unloads the model once the jobs running on it end; a load under way is cancelled. Unknown ids are a no-op. */
  unload(modelId: string): Promise<void> {
    const already = this.#unloading.get(modelId);
    if (already) return already;
    const unload = (async () => {
      const pending = this.#pending.get(modelId);
      if (pending) {
        pending.abort.abort(new HelexaError("job_cancelled", `the load of model ${modelId} was cancelled`));
        await pending.promise.catch(() => {});
      }
      if (!this.#loaded(modelId)) return;
      await this.#options.runtime.unloadModel?.(modelId);
      this.#options.log?.info("model.unloaded", { model: modelId });
      this.#options.onEvent?.({ type: "unloaded", modelId });
    })().finally(() => this.#unloading.delete(modelId));
    this.#unloading.set(modelId, unload);
    return unload;
  }

  /** Cancels the loads under way (the neuron is shutting down). */
  close(): void {
    for (const [modelId, pending] of this.#pending) {
      pending.abort.abort(new HelexaError("job_cancelled", `the load of model ${modelId} was cancelled`));
    }
  }

  #loaded(modelId: string): RuntimeModel | undefined {
    return this.#options.runtime.models().find((model) => model.id === modelId);
  }

  async #run(
    command: Omit<ModelLoad, "type">,
    signal: AbortSignal,
    state: PendingLoad["state"],
  ): Promise<RuntimeModel> {
    const { modelId } = command;
    const { runtime, log } = this.#options;
    const startedAt = performance.now();
    const emit = (progress: ModelLoadProgress) => {
      state.progress = progress;
      this.#options.onEvent?.({ type: "progress", ...progress });
    };
    let partPath: string | null = null;
    try {
      // Memory an unload is about to free counts as free only once it is.
      await Promise.allSettled([...this.#unloading.values()]);
      // Every load under way is counted, this one too by now.
      const used = this.usedBytes() - command.sizeBytes;
      if (used + command.sizeBytes > this.memoryBudgetBytes) {
        const models = runtime
          .models()
          .map((model) => model.id)
          .join(", ");
        throw new HelexaError(
          "no_capacity",
          `model ${modelId} (${megabytes(command.sizeBytes)}) does not fit neuron ${this.#options.neuronName}'s memory budget: ${megabytes(used)} of ${megabytes(this.memoryBudgetBytes)} in use${models ? ` (${models})` : ""}`,
        );
      }
      log?.info("model.load_requested", { model: modelId, url: command.url, sizeBytes: command.sizeBytes });

      const destination = join(this.#options.modelsDir, modelFileNameFromUrl(command.url));
      partPath = `${destination}.part`;
      const download = await downloadModel({
        url: command.url,
        destination,
        sha256: command.sha256,
        expectedSize: command.sizeBytes,
        signal,
        ...(this.#options.download?.retries !== undefined ? { retries: this.#options.download.retries } : {}),
        ...(this.#options.download?.timeoutMs !== undefined
          ? { timeoutMs: this.#options.download.timeoutMs }
          : {}),
        onProgress: (progress) =>
          emit({
            modelId,
            phase: "download",
            fraction: progress.fraction,
            bytes: progress.downloadedBytes,
            totalBytes: progress.totalBytes,
            bytesPerSecond: progress.bytesPerSecond,
          }),
      });
      signal.throwIfAborted();

      emit({
        modelId,
        phase: "load",
        fraction: 0,
        bytes: download.sizeBytes,
        totalBytes: download.sizeBytes,
      });
      const model = await runtime.loadModel!(
        {
          id: modelId,
          path: download.path,
          contextLength: Math.min(
            command.contextLength,
            this.#options.contextLengthCap ?? defaultContextLengthCap,
          ),
        },
        (event) =>
          emit({
            modelId,
            phase: "load",
            fraction: event.fraction,
            bytes: download.sizeBytes,
            totalBytes: download.sizeBytes,
          }),
      );
      if (signal.aborted) {
        // An unload came while llama.cpp was loading: it runs once this returns.
        throw signal.reason;
      }
      const seconds = (performance.now() - startedAt) / 1000;
      log?.info("model.loaded", {
        model: modelId,
        sizeBytes: download.sizeBytes,
        downloaded: download.downloaded,
        seconds: Math.round(seconds * 100) / 100,
      });
      this.#options.onEvent?.({
        type: "loaded",
        modelId,
        sizeBytes: download.sizeBytes,
        downloaded: download.downloaded,
        seconds,
      });
      return model;
    } catch (caught) {
      const error = this.#describe(modelId, command, caught);
      // downloadModel removes the part file of a wrong or cut-short download; this makes sure of it.
      if (partPath && (error.code === "checksum_mismatch" || isDiskFull(caught))) {
        await unlink(partPath).catch(() => {});
      }
      log?.warn("model.load_failed", { model: modelId, code: error.code, message: error.message });
      this.#options.onEvent?.({ type: "failed", modelId, error });
      throw error;
    }
  }

  /** One line that names the model and this neuron, with the code of what went wrong. */
  #describe(modelId: string, command: Omit<ModelLoad, "type">, caught: unknown): HelexaError {
    const neuron = this.#options.neuronName;
    if (!HelexaError.is(caught)) {
      return new HelexaError(
        "internal",
        `model ${modelId} could not be loaded on neuron ${neuron}: ${String(caught)}`,
        {
          cause: caught,
        },
      );
    }
    if (caught.code === "no_capacity" || caught.code === "job_cancelled") return caught;
    if (isDiskFull(caught)) {
      return new HelexaError(
        "download_failed",
        `model ${modelId} (${megabytes(command.sizeBytes)}) does not fit on neuron ${neuron}'s disk: ${caught.message}`,
        { cause: caught },
      );
    }
    const step = caught.code === "model_invalid" ? "loaded" : "downloaded";
    return new HelexaError(
      caught.code,
      `model ${modelId} could not be ${step} on neuron ${neuron}: ${caught.message}`,
      {
        cause: caught,
      },
    );
  }
}

let fileSizeLimitHandled = false;

/**
 * Past a file size limit (RLIMIT_FSIZE) the kernel sends SIGXFSZ. Node ignores it, so the write fails
 * with EFBIG, but node-llama-cpp's exit hooks catch it and end the process with it; a listener of our
 * own keeps the neuron alive to report the error (measured: the neuron died of SIGXFSZ without it).
 */
function surviveFileSizeLimit(): void {
  if (fileSizeLimitHandled || process.platform === "win32") return;
  fileSizeLimitHandled = true;
  process.on("SIGXFSZ", () => {});
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

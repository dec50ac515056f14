// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa neuron`: serve a model to cortex over WebRTC, and to its operator on the api socket.

import type { Config } from "@helexa/config";
import type { Logger } from "@helexa/log";
import {
  createNeuronRuntime,
  defaultMemoryBudgetBytes,
  type ModelManagerEvent,
  type Neuron,
  startNeuron,
} from "@helexa/neuron";
import type { LanguageModelRuntime } from "@helexa/runtime";
import { modelProgress, prepareCommand, socketOf } from "../context.js";
import { UsageError } from "../flags.js";
import { createProgressBar, type ProgressBar } from "../progress-bar.js";
import { onShutdownSignal } from "../shutdown.js";

const summary = `Runs a neuron: it loads a model (or fronts an OpenAI-compatible engine), dials cortex, and serves
jobs over a WebRTC data channel. Its api socket serves the same models with the OpenAI API. With --cortex and
no --model, it starts empty and loads the catalog models cortex asks for, within --memory-budget.`;

export const software = "helexa-neuron/0.1.0";

export async function runNeuronCommand(argv: string[]): Promise<void> {
  const context = prepareCommand({ command: "neuron", argv, summary });
  if (!context) return;
  const { config, log } = context;
  const synthetic = config.neuron.syntheticLoadTestTokensPerSecond;
  if (synthetic !== undefined && (config.neuron.model || config.neuron.upstreamUrl)) {
    throw new UsageError(
      "--synthetic-load-test-runtime serves no model: leave out --model and --upstream-url (see helexa neuron --help)",
    );
  }
  // With cortex to ask for models, a neuron may start empty; alone, it would serve nothing.
  const startEmpty = Boolean(config.neuron.cortexUrl && config.neuron.provisioning);
  if (synthetic === undefined && !config.neuron.model && !config.neuron.upstreamUrl && !startEmpty) {
    throw new UsageError(
      "helexa neuron needs --model PATH|URL or --upstream-url URL, or --cortex with provisioning on (see helexa neuron --help)",
    );
  }
  if (config.neuron.cortexUrl && !config.neuron.token) {
    throw new UsageError(
      "helexa neuron needs --token with --cortex: the neuron token from its operator's account",
    );
  }
  const runtime = await createRuntimeFromConfig(config, log, startEmpty);
  const neuron = await startNeuronFromConfig(config, runtime, log);
  const served = runtime.models().map((model) => model.id);
  process.stdout.write(
    [
      `neuron ${config.neuron.name} serving ${served.length > 0 ? served.join(", ") : "no model yet"}`,
      neuron.models
        ? `models        loaded on request from cortex, up to ${gigabytes(neuron.models.memoryBudgetBytes)} GB (--memory-budget) into ${config.neuron.modelsDir}`
        : null,
      neuron.link
        ? `cortex        ${config.neuron.cortexUrl} (neuron id ${neuron.link.neuronId})`
        : "cortex        none: serving the api socket only",
      neuron.apiUrl ? `api           ${neuron.apiUrl}/v1` : null,
      neuron.controlUrl ? `control       ${neuron.controlUrl}/status` : null,
      "",
    ]
      .filter((line) => line !== null)
      .join("\n"),
  );
  onShutdownSignal(async () => {
    // Finish the jobs cortex placed here (bounded), taking no new ones; a second signal exits at once.
    await neuron.drain(config.neuron.drainTimeoutSeconds * 1000);
    await neuron.stop();
    await runtime[Symbol.asyncDispose]();
  });
}

async function createRuntimeFromConfig(
  config: Config,
  log: Logger,
  startEmpty: boolean,
): Promise<LanguageModelRuntime> {
  const model = config.neuron.model;
  const progress = modelProgress();
  try {
    const runtime = await createNeuronRuntime({
      ...(model ? { model } : {}),
      startEmpty,
      modelsDir: config.neuron.modelsDir,
      ...(config.neuron.upstreamUrl
        ? {
            upstream: {
              url: config.neuron.upstreamUrl,
              ...(config.neuron.upstreamApiKey ? { apiKey: config.neuron.upstreamApiKey } : {}),
            },
          }
        : {}),
      ...(config.neuron.syntheticLoadTestTokensPerSecond !== undefined
        ? { syntheticLoadTestTokensPerSecond: config.neuron.syntheticLoadTestTokensPerSecond }
        : {}),
      threads: config.neuron.threads,
      gpu: config.neuron.gpu,
      slots: config.neuron.slots,
      onDownloadProgress: progress.onDownloadProgress,
      onLoadProgress: progress.onLoadProgress,
      onLog: (level, message) => log[level]("llama.log", { message }),
    });
    progress.finish();
    return runtime;
  } catch (error) {
    progress.finish(error);
    throw error;
  }
}

function startNeuronFromConfig(config: Config, runtime: LanguageModelRuntime, log: Logger): Promise<Neuron> {
  const controlSocket = socketOf(config.neuron.controlSocket);
  const apiSocket = socketOf(config.neuron.apiSocket);
  const { cortexUrl, token } = config.neuron;
  const iceBindAddress = config.ice.bindAddress;
  return startNeuron({
    name: config.neuron.name,
    runtime,
    ...(cortexUrl && token
      ? {
          cortex: {
            url: cortexUrl,
            token,
            ...(iceBindAddress ? { iceBindAddress } : {}),
            ...(config.ice.portRangeBegin !== undefined && config.ice.portRangeEnd !== undefined
              ? { icePortRange: { begin: config.ice.portRangeBegin, end: config.ice.portRangeEnd } }
              : {}),
          },
        }
      : {}),
    ...(controlSocket ? { controlSocket } : {}),
    ...(apiSocket ? { apiSocket } : {}),
    ...(config.neuron.provisioning
      ? {
          provisioning: {
            modelsDir: config.neuron.modelsDir,
            memoryBudgetBytes: config.neuron.memoryBudgetBytes ?? defaultMemoryBudgetBytes(),
            onEvent: provisioningProgress(),
          },
        }
      : {}),
    software,
    log: log.child({ role: "neuron" }),
  });
}

/** A bar per model and phase on stderr while cortex has the neuron load a model, and a line when it is done. */
function provisioningProgress(): (event: ModelManagerEvent) => void {
  const bars = new Map<string, ProgressBar>();
  const finish = (modelId: string, end: (bar: ProgressBar) => void) => {
    for (const phase of ["download", "load"]) {
      const bar = bars.get(`${phase} ${modelId}`);
      if (bar) end(bar);
      bars.delete(`${phase} ${modelId}`);
    }
  };
  return (event) => {
    switch (event.type) {
      case "progress": {
        const key = `${event.phase} ${event.modelId}`;
        if (event.phase === "load") {
          bars.get(`download ${event.modelId}`)?.done();
          bars.delete(`download ${event.modelId}`);
        }
        let bar = bars.get(key);
        if (!bar) {
          bar = createProgressBar({ label: key });
          bars.set(key, bar);
        }
        bar.update(
          event.phase === "download"
            ? {
                fraction: event.fraction,
                bytesDone: event.bytes,
                bytesTotal: event.totalBytes,
                ...(event.bytesPerSecond === undefined ? {} : { bytesPerSecond: event.bytesPerSecond }),
              }
            : { fraction: event.fraction },
        );
        break;
      }
      case "loaded":
        finish(event.modelId, (bar) => bar.done());
        process.stdout.write(
          `model ${event.modelId} loaded (${(event.sizeBytes / 1e6).toFixed(1)} MB, ${event.downloaded ? "downloaded" : "already on disk"}, ${event.seconds.toFixed(1)} s)\n`,
        );
        break;
      case "failed":
        finish(event.modelId, (bar) => bar.fail(event.error.message.slice(0, 200)));
        process.stdout.write(`model ${event.modelId} failed: ${event.error.message}\n`);
        break;
      case "unloaded":
        process.stdout.write(`model ${event.modelId} unloaded\n`);
        break;
    }
  };
}

function gigabytes(bytes: number): string {
  return (bytes / 1e9).toFixed(1);
}

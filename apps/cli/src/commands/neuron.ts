// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa neuron`: serve a model to cortex over WebRTC, and to its operator on the api socket.

import type { Config } from "@helexa/config";
import type { Logger } from "@helexa/log";
import { createNeuronRuntime, type Neuron, startNeuron } from "@helexa/neuron";
import type { LanguageModelRuntime } from "@helexa/runtime";
import { modelProgress, prepareCommand, socketOf } from "../context.js";
import { UsageError } from "../flags.js";
import { onShutdownSignal } from "../shutdown.js";

const summary = `Runs a neuron: it loads a model (or fronts an OpenAI-compatible engine), dials cortex, and serves
jobs over a WebRTC data channel. Its api socket serves the same models with the OpenAI API.`;

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
  if (synthetic === undefined && !config.neuron.model && !config.neuron.upstreamUrl) {
    throw new UsageError(
      "helexa neuron needs --model PATH|URL or --upstream-url URL (see helexa neuron --help)",
    );
  }
  if (config.neuron.cortexUrl && !config.neuron.token) {
    throw new UsageError(
      "helexa neuron needs --token with --cortex: the neuron token from its operator's account",
    );
  }
  const runtime = await createRuntimeFromConfig(config, log);
  const neuron = await startNeuronFromConfig(config, runtime, log);
  process.stdout.write(
    [
      `neuron ${config.neuron.name} serving ${runtime
        .models()
        .map((model) => model.id)
        .join(", ")}`,
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

async function createRuntimeFromConfig(config: Config, log: Logger): Promise<LanguageModelRuntime> {
  const model = config.neuron.model;
  const progress = modelProgress();
  try {
    const runtime = await createNeuronRuntime({
      ...(model ? { model } : {}),
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
    software,
    log: log.child({ role: "neuron" }),
  });
}

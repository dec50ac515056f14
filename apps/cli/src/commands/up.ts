// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa up`: cortex and one native neuron on this machine, the embedded database, a key that works at once.

import { join } from "node:path";
import type { Config } from "@helexa/config";
import { type Cortex, ensureLocalFabric } from "@helexa/cortex";
import { openDatabase } from "@helexa/db";
import { generateTinyModel } from "@helexa/gguf";
import { defaultModel, resolveModelSource } from "@helexa/models";
import { modelIdOf } from "@helexa/neuron";
import { HelexaError } from "@helexa/protocol";
import { modelProgress, prepareCommand } from "../context.js";
import { NeuronProcess } from "../neuron-process.js";
import { onShutdownSignal } from "../shutdown.js";
import { startCortexFromConfig } from "./cortex.js";

const summary = `Starts a whole fabric on this machine: cortex (orchestrator, gateway and portal) with the
embedded database, and one native neuron serving the default model in a process of its own. Builds
the portal's pages on first start. Prints the portal and gateway URLs and an API key.`;

/** The generated model `up` falls back to when the default model cannot be downloaded. */
const FALLBACK_MODEL_FILE = "helexa-tiny.gguf";

export async function runUpCommand(argv: string[]): Promise<void> {
  const context = prepareCommand({ command: "up", argv, summary, includeUpDefaults: true });
  if (!context) return;
  const { config, log } = context;
  const database = await openDatabase(
    config.database.url ? { url: config.database.url } : { dataDir: join(config.home, "db") },
  );
  const cleanups: Array<() => Promise<void>> = [() => database.close()];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
  };
  try {
    const credentials = await ensureLocalFabric({
      database,
      credentialsFile: join(config.home, "credentials.json"),
      initialCredits: config.ledger.initialCredits,
    });
    const { cortex } = await startCortexFromConfig(config, log, {
      database,
      portalAuthSecret: credentials.portalAuthSecret,
      buildPortalIfMissing: true,
      // The neuron downloads the default model there: browser tabs get the same file from cortex.
      modelsDir: config.neuron.modelsDir,
    });
    cleanups.push(() => cortex.close());
    if (!cortex.orchestratorUrl || !cortex.gatewayUrl) {
      throw new HelexaError(
        "invalid_request",
        "helexa up needs both the orchestrator and the gateway socket",
      );
    }
    const modelPath = await resolveUpModel(config);
    const neuron = new NeuronProcess({
      args: neuronArguments(config, modelPath, cortex.orchestratorUrl),
      token: credentials.neuronToken,
      log,
      onGiveUp: (reason) => {
        log.error("up.neuron_given_up", { reason });
        process.kill(process.pid, "SIGTERM");
      },
    });
    // The neuron drains first (cortex still up, so its running jobs finish); killed if it overstays.
    cleanups.push(() => neuron.stop((config.neuron.drainTimeoutSeconds + 10) * 1000));
    await Promise.all([neuron.start(), neuronJoined(cortex)]);
    const modelId = modelIdOf(config.neuron.model ?? modelPath, modelPath);
    process.stdout.write(
      banner({
        portalUrl: cortex.portalUrl,
        gatewayUrl: cortex.gatewayUrl,
        apiKey: credentials.apiKey,
        modelId,
        neuronApi: config.neuron.apiSocket ? `http://${config.neuron.apiSocket}` : null,
      }),
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
  onShutdownSignal(cleanup);
}

/** The model file to serve: the one named, else the default model, else a generated one when offline. */
async function resolveUpModel(config: Config): Promise<string> {
  const named = config.neuron.model;
  const progress = modelProgress();
  try {
    const path = await resolveModelSource(named ?? defaultModel.id, config.neuron.modelsDir, {
      onProgress: progress.onDownloadProgress,
    });
    progress.finish();
    return path;
  } catch (error) {
    progress.finish(error);
    if (
      named ||
      !HelexaError.is(error) ||
      (error.code !== "download_failed" && error.code !== "checksum_mismatch")
    ) {
      throw error;
    }
    process.stderr.write(
      `helexa: the default model could not be fetched (${error.message}); serving a generated model instead\n`,
    );
  }
  const path = join(config.neuron.modelsDir, FALLBACK_MODEL_FILE);
  await generateTinyModel({ path, preset: "bench", seed: 1 });
  return path;
}

function neuronArguments(config: Config, modelPath: string, orchestratorUrl: string): string[] {
  const args = [
    "--cortex",
    orchestratorUrl,
    "--model",
    modelPath,
    "--name",
    config.neuron.name,
    "--home",
    config.home,
    "--models-dir",
    config.neuron.modelsDir,
    "--control-socket",
    config.neuron.controlSocket,
    "--api-socket",
    config.neuron.apiSocket,
    "--threads",
    String(config.neuron.threads),
    "--slots",
    String(config.neuron.slots),
    "--gpu",
    config.neuron.gpu,
    "--drain-timeout",
    String(config.neuron.drainTimeoutSeconds),
    "--log-level",
    config.log.level,
    // Everything is on this machine: ICE stays on loopback.
    "--ice-bind-address",
    config.ice.bindAddress ?? "127.0.0.1",
  ];
  return args;
}

/** Resolves when a neuron is ready in cortex's registry. */
function neuronJoined(cortex: Cortex): Promise<void> {
  if (cortex.registry.list().some((session) => session.ready)) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = cortex.registry.onChange((event) => {
      if (event !== "added") return;
      stop();
      resolve();
    });
  });
}

function banner(options: {
  portalUrl: string | null;
  gatewayUrl: string;
  apiKey: string;
  modelId: string;
  neuronApi: string | null;
}): string {
  const body = JSON.stringify({ model: options.modelId, messages: [{ role: "user", content: "Hello!" }] });
  return `
helexa is up.
${options.portalUrl ? `\n  portal    ${options.portalUrl}  (on a new install, the first person to sign up is its admin)` : ""}
  gateway   ${options.gatewayUrl}/v1
  api key   ${options.apiKey}
  model     ${options.modelId}
${options.neuronApi ? `  neuron    ${options.neuronApi}/v1 (its own API, this machine only)\n` : ""}
Try it:

  curl ${options.gatewayUrl}/v1/chat/completions \\
    -H "Authorization: Bearer ${options.apiKey}" \\
    -H "Content-Type: application/json" \\
    -d '${body}'

Press Ctrl-C to stop.
`;
}

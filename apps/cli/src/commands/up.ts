// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa up`: cortex and one native neuron on this machine, the embedded database, a key that works at once.

import { join } from "node:path";
import { ensureLocalFabric } from "@helexa/cortex";
import { openDatabase } from "@helexa/db";
import { generateTinyModel } from "@helexa/gguf";
import { defaultModel } from "@helexa/models";
import { HelexaError } from "@helexa/protocol";
import type { LanguageModelRuntime } from "@helexa/runtime";
import { prepareCommand } from "../context.js";
import { onShutdownSignal } from "../shutdown.js";
import { startCortexFromConfig } from "./cortex.js";
import { createRuntimeFromConfig, startNeuronFromConfig } from "./neuron.js";

const summary = `Starts a whole fabric on this machine: cortex (orchestrator and gateway), one native neuron
serving the default model, and the embedded database. Prints the gateway URL and an API key.`;

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
    const { cortex } = await startCortexFromConfig(config, log, { database });
    cleanups.push(() => cortex.close());
    if (!cortex.orchestratorUrl || !cortex.gatewayUrl) {
      throw new HelexaError(
        "invalid_request",
        "helexa up needs both the orchestrator and the gateway socket",
      );
    }
    const runtime = await loadUpModel(config, log);
    cleanups.push(async () => {
      await runtime[Symbol.asyncDispose]();
    });
    const neuron = await startNeuronFromConfig(config, runtime, log, {
      url: cortex.orchestratorUrl,
      token: credentials.neuronToken,
      // Everything is on this machine: ICE stays on loopback.
      iceBindAddress: config.ice.bindAddress ?? "127.0.0.1",
    });
    cleanups.push(() => neuron.stop());
    const modelId = runtime.models()[0]?.id ?? "";
    process.stdout.write(
      banner({
        gatewayUrl: cortex.gatewayUrl,
        apiKey: credentials.apiKey,
        modelId,
        neuronApi: neuron.apiUrl,
      }),
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
  onShutdownSignal(cleanup);
}

async function loadUpModel(
  config: Parameters<typeof createRuntimeFromConfig>[0],
  log: Parameters<typeof createRuntimeFromConfig>[1],
): Promise<LanguageModelRuntime> {
  const named = config.neuron.model;
  if (named || config.neuron.upstreamUrl) return createRuntimeFromConfig(config, log, named);
  try {
    return await createRuntimeFromConfig(config, log, defaultModel.id);
  } catch (error) {
    if (!HelexaError.is(error) || (error.code !== "download_failed" && error.code !== "checksum_mismatch"))
      throw error;
    process.stderr.write(
      `helexa: the default model could not be fetched (${error.message}); serving a generated model instead\n`,
    );
  }
  const path = join(config.neuron.modelsDir, FALLBACK_MODEL_FILE);
  await generateTinyModel({ path, preset: "bench", seed: 1 });
  return createRuntimeFromConfig(config, log, path);
}

function banner(options: {
  gatewayUrl: string;
  apiKey: string;
  modelId: string;
  neuronApi: string | null;
}): string {
  const body = JSON.stringify({ model: options.modelId, messages: [{ role: "user", content: "Hello!" }] });
  return `
helexa is up.

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

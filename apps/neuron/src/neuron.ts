// SPDX-License-Identifier: PolyForm-Shield-1.0
// A neuron: a runtime, its link to cortex, its control socket and its own OpenAI api socket.

import { once } from "node:events";
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, totalmem } from "node:os";
import type { SocketAddress } from "@helexa/config";
import type { Logger } from "@helexa/log";
import type { Peer } from "@helexa/mesh";
import { createOpenAIHandler } from "@helexa/openai-http";
import type { ModelError, ModelLoad, ModelProgress, ModelUnload } from "@helexa/protocol";
import { HelexaError } from "@helexa/protocol";
import { JobRunner, type LanguageModelRuntime } from "@helexa/runtime";
import { createControlServer } from "./control-server.js";
import { CortexLink } from "./cortex-link.js";
import { createLocalApiBackend } from "./local-api-backend.js";
import { ModelManager, type ModelManagerEvent, type ModelManagerOptions } from "./model-manager.js";

export interface NeuronOptions {
  name: string;
  runtime: LanguageModelRuntime;
  /** Where to reach cortex; without it the neuron serves only its own api socket. */
  cortex?: {
    url: string;
    token: string;
    iceBindAddress?: string;
    icePortRange?: { begin: number; end: number };
  };
  controlSocket?: SocketAddress;
  apiSocket?: SocketAddress;
  /** A bearer key the api socket asks for; none by default, since it listens on loopback. */
  apiKey?: string;
  /**
   * Load and unload models when cortex asks, within a memory budget (the runtime must be able to: llama.cpp
   * can). Without it, or with a runtime that cannot, the neuron serves only the models it started with.
   */
  provisioning?: Pick<
    ModelManagerOptions,
    "modelsDir" | "memoryBudgetBytes" | "contextLengthCap" | "download"
  > & {
    /** Progress, loads, failures and unloads, for a terminal's progress bars. */
    onEvent?: (event: ModelManagerEvent) => void;
  };
  software: string;
  log: Logger;
}

export interface Neuron {
  readonly controlUrl: string | null;
  readonly apiUrl: string | null;
  readonly link: CortexLink | null;
  /** What cortex provisions here; null when the neuron serves only the models it started with. */
  readonly models: ModelManager | null;
  status(): Record<string, unknown>;
  /**
   * Tells cortex to place nothing more here and waits for the running jobs to end, for at most
   * `timeoutMs`; resolves true when they all ended, false when time ran out. `stop` follows it.
   */
  drain(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startNeuron(options: NeuronOptions): Promise<Neuron> {
  const { runtime, log } = options;
  const startedAt = Date.now();
  const counters = { jobsServed: 0, jobsFailed: 0, tokensServed: 0 };
  let channel: Peer | null = null;

  const runner = new JobRunner({
    runtime,
    send: (message) => {
      if (!channel) throw new Error("no data channel to cortex");
      // A full channel slows the generation down instead of growing a buffer without bound.
      if (!channel.send(message)) return channel.drain();
    },
    onJobDone: (outcome) => {
      if (outcome.status === "failed") counters.jobsFailed += 1;
      else counters.jobsServed += 1;
      counters.tokensServed += outcome.tokens;
    },
    onProtocolError: (error) => log.warn("cortex.protocol_violation", { message: error.message }),
    log,
  });

  const provisioning = options.provisioning;
  const reportProgress = progressReporter((message) => link?.sendModelMessage(message));
  const models =
    provisioning && ModelManager.supports(runtime)
      ? new ModelManager({
          runtime,
          modelsDir: provisioning.modelsDir,
          memoryBudgetBytes: provisioning.memoryBudgetBytes,
          neuronName: options.name,
          ...(provisioning.contextLengthCap ? { contextLengthCap: provisioning.contextLengthCap } : {}),
          ...(provisioning.download ? { download: provisioning.download } : {}),
          log,
          onEvent: (event) => {
            if (event.type === "progress") reportProgress(event);
            provisioning.onEvent?.(event);
          },
        })
      : null;

  const onModelCommand = (command: ModelLoad | ModelUnload) => {
    const fail = (error: unknown) => {
      const wire = HelexaError.is(error) ? error : new HelexaError("internal", String(error));
      link?.sendModelMessage({ type: "model.error", modelId: command.modelId, error: wire.toWire() });
    };
    if (!models) {
      fail(new HelexaError("invalid_request", `neuron ${options.name} does not load models on request`));
      return;
    }
    if (command.type === "model.unload") {
      models.unload(command.modelId).then(() => link?.announce(), fail);
      return;
    }
    if (runner.draining) {
      fail(new HelexaError("no_capacity", `neuron ${options.name} is shutting down and loads no models`));
      return;
    }
    const { type: _type, ...load } = command;
    models.load(load).then(() => link?.announce(), fail);
  };

  const link = options.cortex
    ? new CortexLink({
        url: options.cortex.url,
        token: options.cortex.token,
        name: options.name,
        software: options.software,
        ...(options.cortex.iceBindAddress ? { iceBindAddress: options.cortex.iceBindAddress } : {}),
        ...(options.cortex.icePortRange ? { icePortRange: options.cortex.icePortRange } : {}),
        log,
        capabilities: () => ({
          models: runtime.models(),
          runtime: { kind: runtime.kind, engine: runtime.engine },
          hardware: {
            cpu: cpus()[0]?.model ?? "unknown",
            cores: Math.max(1, cpus().length),
            memoryBytes: totalmem(),
            gpu: null,
          },
          slots: runtime.slots,
          ...(runtime.canResume ? { resume: true } : {}),
          ...(models ? { provisioning: true, memoryBudgetBytes: models.memoryBudgetBytes } : {}),
        }),
        onModelCommand,
        onChannel: (peer) => {
          channel = peer;
          peer.onMessage((raw) => runner.handle(raw));
        },
        onChannelLost: (reason) => {
          channel = null;
          runner.abortAll(`the link to cortex was lost: ${reason}`);
        },
      })
    : null;

  const status = () => ({
    name: options.name,
    neuronId: link?.neuronId ?? null,
    state: link?.state ?? "standalone",
    cortex: options.cortex?.url ?? null,
    lastError: link?.lastError ?? null,
    runtime: { kind: runtime.kind, engine: runtime.engine, slots: runtime.slots },
    models: runtime.models(),
    activeJobs: runner.activeJobs,
    draining: runner.draining,
    ...(models
      ? {
          provisioning: {
            memoryBudgetBytes: models.memoryBudgetBytes,
            usedBytes: models.usedBytes(),
            loading: models.loading(),
          },
        }
      : {}),
    ...counters,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
  });

  const servers: Server[] = [];
  const listen = async (server: Server, address: SocketAddress | undefined): Promise<string | null> => {
    if (!address) return null;
    server.listen(address.port, address.host);
    await once(server, "listening");
    servers.push(server);
    const bound = server.address() as AddressInfo;
    const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    return `http://${host}:${bound.port}`;
  };

  const controlUrl = await listen(createControlServer(status), options.controlSocket);
  const apiHandler = createOpenAIHandler({
    backend: createLocalApiBackend({ runtime, ...(options.apiKey ? { apiKey: options.apiKey } : {}) }),
    onError: (error, requestId) => log.error("api.error", { requestId, error: String(error) }),
  });
  const apiUrl = await listen(createServer(apiHandler), options.apiSocket);
  if (link) {
    try {
      await link.start();
    } catch (error) {
      await Promise.all(servers.map((server) => closeServer(server)));
      throw error;
    }
  }

  return {
    controlUrl,
    apiUrl,
    link,
    models,
    status,
    async drain(timeoutMs) {
      link?.drain();
      log.info("neuron.draining", { activeJobs: runner.activeJobs, timeoutMs });
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([
        runner.drain().then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      // The last job's end is queued on the data channel: let it leave before the channel closes.
      const deadline = Date.now() + 1000;
      while (channel && channel.bufferedAmount > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      log.info("neuron.drained", { drained, activeJobs: runner.activeJobs });
      return drained;
    },
    async stop() {
      models?.close();
      runner.abortAll("the neuron is shutting down");
      await link?.stop();
      await Promise.all(servers.map((server) => closeServer(server)));
    },
  };
}

/** Progress for cortex: on each phase's start and end, and at most four times a second between. */
function progressReporter(send: (message: ModelProgress | ModelError) => void) {
  const last = new Map<string, { phase: string; at: number }>();
  return (event: Extract<ModelManagerEvent, { type: "progress" }>) => {
    const previous = last.get(event.modelId);
    const now = performance.now();
    const due =
      !previous || previous.phase !== event.phase || event.fraction === 1 || now - previous.at >= 250;
    if (!due) return;
    if (event.fraction === 1 && event.phase === "load") last.delete(event.modelId);
    else last.set(event.modelId, { phase: event.phase, at: now });
    send({
      type: "model.progress",
      modelId: event.modelId,
      phase: event.phase,
      fraction: event.fraction === null ? null : Math.min(1, Math.max(0, event.fraction)),
      bytes: event.bytes,
    });
  };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

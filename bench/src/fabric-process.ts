// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa up` as a child process on free loopback ports: the fabric gets its own event loop, apart from the client's.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { freeLoopbackPort } from "./free-port.js";
import { parseUpBanner, type UpBanner } from "./up-banner.js";

export interface FabricProcessOptions {
  modelPath: string;
  home: string;
  threads: number;
  gpu: string;
  /** How long `up` may take to print its banner and list the model. */
  startTimeoutMs?: number;
}

export interface FabricProcess extends UpBanner, AsyncDisposable {
  pid: number;
  /** SIGINT, as Ctrl-C would; SIGKILL if it has not exited in time. Resolves to the exit code or signal. */
  stop(): Promise<string>;
  /** Everything the child printed, for a failure's explanation. */
  output(): string;
}

const KEPT_OUTPUT_CHARS = 64_000;

export async function startFabricProcess(options: FabricProcessOptions): Promise<FabricProcess> {
  const sockets = await Promise.all(
    ["orchestrator-socket", "gateway-socket", "portal-socket", "control-socket", "api-socket"].map(
      async (flag) => [`--${flag}`, `127.0.0.1:${await freeLoopbackPort()}`] as const,
    ),
  );
  const cli = fileURLToPath(import.meta.resolve("@helexa/cli/dist/main.js"));
  const child = spawn(
    process.execPath,
    [
      cli,
      "up",
      "--model",
      options.modelPath,
      "--home",
      options.home,
      "--threads",
      String(options.threads),
      "--gpu",
      options.gpu,
      ...sockets.flat(),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > KEPT_OUTPUT_CHARS) output = output.slice(-KEPT_OUTPUT_CHARS);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  // A crash of the benchmark must not leave a fabric running.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let banner: UpBanner;
  try {
    banner = await waitForBanner(child, () => output, options.startTimeoutMs ?? 60_000);
    await waitForModel(banner, options.startTimeoutMs ?? 60_000);
  } catch (error) {
    await stopChild(child);
    process.off("exit", killOnExit);
    throw new Error(`${(error as Error).message}\n--- helexa up printed ---\n${output.slice(-4000)}`);
  }

  let stopped: Promise<string> | null = null;
  const stop = () => {
    stopped ??= stopChild(child).finally(() => process.off("exit", killOnExit));
    return stopped;
  };
  return {
    ...banner,
    pid: child.pid ?? -1,
    stop,
    output: () => output,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

async function waitForBanner(
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<UpBanner> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const banner = parseUpBanner(output());
    if (banner) return banner;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`helexa up exited (${child.exitCode ?? child.signalCode}) before it was up`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`helexa up printed no banner within ${timeoutMs} ms`);
}

/** The banner follows the neuron's start; this makes sure the gateway can already place a job on it. */
async function waitForModel(banner: UpBanner, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${banner.gatewayUrl}/models`, {
        headers: { authorization: `Bearer ${banner.apiKey}` },
      });
      const body = (await response.json()) as { data?: Array<{ id?: string }> };
      if (body.data?.some((model) => model.id === banner.modelId)) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway did not list ${banner.modelId} within ${timeoutMs} ms (${last})`);
}

async function stopChild(child: ChildProcess): Promise<string> {
  const describe = () => (child.signalCode ? `signal ${child.signalCode}` : `exit ${child.exitCode}`);
  if (child.exitCode !== null || child.signalCode !== null) return describe();
  const exited = once(child, "exit");
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
  return describe();
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs the real `helexa` command as a child process and waits on what it prints.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const cliPath = fileURLToPath(new URL("../../../apps/cli/dist/main.js", import.meta.url));

export class HelexaProcess implements AsyncDisposable {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], environment: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, HELEXA_LOG_LEVEL: "warn", ...environment },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = once(this.child, "exit").then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  /** Resolves with the first match of the pattern in stdout; rejects if the process exits or time runs out. */
  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    while (Date.now() < deadline) {
      const match = pattern.exec(this.stdout);
      if (match) return match;
      if (exited) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `helexa did not print ${pattern} (${exited ? "it exited" : "timed out"})\nstdout:\n${this.stdout}\nstderr:\n${this.stderr.slice(-4000)}`,
    );
  }

  /** Sends the signal and waits for the exit, killing the process if it does not go in time. */
  async stop(signal: NodeJS.Signals = "SIGINT", timeoutMs = 15_000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
  }
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface RunningUp {
  fabric: HelexaProcess;
  gatewayUrl: string;
  portalUrl: string;
  orchestratorUrl: string;
  controlUrl: string;
  apiKey: string;
}

/** `helexa up` on free loopback ports with the given model; resolves once it printed its key. */
export async function startUp(options: {
  home: string;
  modelPath: string;
  environment?: Record<string, string>;
}): Promise<RunningUp> {
  const [orchestrator, gateway, control, api, portal] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const fabric = new HelexaProcess(
    [
      "up",
      ...["--home", options.home, "--model", options.modelPath, "--threads", "1"],
      ...["--orchestrator-socket", `127.0.0.1:${orchestrator}`, "--gateway-socket", `127.0.0.1:${gateway}`],
      ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
      ...["--portal-socket", `127.0.0.1:${portal}`],
    ],
    options.environment,
  );
  const [, gatewayUrl] = await fabric.waitForOutput(/gateway\s+(http:\/\/\S+)\/v1/);
  const [, apiKey] = await fabric.waitForOutput(/api key\s+(sk-hx-\S+)/);
  return {
    fabric,
    gatewayUrl: gatewayUrl ?? "",
    portalUrl: `http://127.0.0.1:${portal}`,
    orchestratorUrl: `ws://127.0.0.1:${orchestrator}`,
    apiKey: apiKey ?? "",
    controlUrl: `http://127.0.0.1:${control}`,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa up`'s neuron as a child process: its own event loop and its own crash, restarted if it dies.

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { Logger } from "@helexa/log";

const cliMain = fileURLToPath(new URL("./main.js", import.meta.url));

export interface NeuronProcessOptions {
  /** `helexa neuron` flags; the token travels in the environment, out of the process list. */
  args: string[];
  token: string;
  log: Logger;
  /** Restarts allowed within a minute before `up` gives up on the neuron. */
  maxRestartsPerMinute?: number;
  onGiveUp: (reason: string) => void;
}

export class NeuronProcess {
  #child: ChildProcess | null = null;
  #stopping = false;
  #restarts: number[] = [];
  readonly #options: NeuronProcessOptions;

  constructor(options: NeuronProcessOptions) {
    this.#options = options;
  }

  /** Starts the neuron; resolves once it has printed that it serves, rejects if it exits first. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [cliMain, "neuron", ...this.#options.args], {
      env: { ...process.env, HELEXA_NEURON_TOKEN: this.#options.token },
      // stdout is its banner, which `up` replaces with its own; stderr (logs, progress) goes through.
      // The IPC channel closes when this process dies, however it dies, and the neuron follows it.
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    this.#child = child;
    let banner = "";
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        banner += chunk.toString();
        if (/ serving /.test(banner)) resolve();
      });
      child.once("exit", (code, signal) =>
        reject(new Error(`the neuron exited before serving (${signal ?? `exit ${code}`})`)),
      );
    });
    child.once("exit", (code, signal) => this.#onExit(child, code, signal));
    await ready;
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#stopping || child !== this.#child) return;
    const { log } = this.#options;
    const now = Date.now();
    this.#restarts = this.#restarts.filter((time) => now - time < 60_000);
    if (this.#restarts.length >= (this.#options.maxRestartsPerMinute ?? 5)) {
      this.#options.onGiveUp(`the neuron exited (${signal ?? `exit ${code}`}) too often`);
      return;
    }
    this.#restarts.push(now);
    log.error("up.neuron_exited", { code, signal, restarting: true });
    setTimeout(() => {
      if (this.#stopping) return;
      this.start().catch((error: unknown) =>
        log.error("up.neuron_restart_failed", { error: (error as Error).message }),
      );
    }, 1000).unref();
  }
}

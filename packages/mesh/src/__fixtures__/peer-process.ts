// SPDX-License-Identifier: PolyForm-Shield-1.0
// Starts a namespace-peer process (inside a network namespace when given one) and reads its reports.

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { NamespacePeerCommand, NamespacePeerReport } from "./namespace-peer.js";

const peerScript = fileURLToPath(new URL("./namespace-peer.js", import.meta.url));
const DIAGNOSTIC_TAIL = 4000;

export type ReportOf<Kind extends NamespacePeerReport["kind"]> = Extract<NamespacePeerReport, { kind: Kind }>;

export interface PeerProcess extends AsyncDisposable {
  readonly label: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every report so far, in order. */
  readonly reports: NamespacePeerReport[];
  command(command: NamespacePeerCommand): void;
  onReport(handler: (report: NamespacePeerReport) => void): void;
  /**
   * The next report of this kind not taken before: reports are consumed in order, so two takes of
   * "message" get the first and second message. Rejects after `timeoutMs`, or at once when the
   * process exits without one, with what the process said.
   */
  take<Kind extends NamespacePeerReport["kind"]>(kind: Kind, timeoutMs: number): Promise<ReportOf<Kind>>;
  /** The exit status, the last reports and the tail of stderr, for assertion messages. */
  diagnostics(): string;
}

export interface SpawnPeerProcessOptions {
  label: string;
  /** A network namespace file (/proc/<pid>/ns/net) to run in; the test's own namespace when absent. */
  netns?: string;
}

export function spawnPeerProcess(options: SpawnPeerProcessOptions): PeerProcess {
  const argv =
    options.netns === undefined
      ? [process.execPath, peerScript]
      : ["nsenter", `--net=${options.netns}`, process.execPath, peerScript];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  const reports: NamespacePeerReport[] = [];
  const taken = new Map<string, number>();
  const handlers = new Set<(report: NamespacePeerReport) => void>();
  const waiters = new Set<() => void>();
  let stderr = "";
  let exited = false;

  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-DIAGNOSTIC_TAIL);
  });
  // A command written after the process died must not crash the test with EPIPE; the exit is reported instead.
  child.stdin.on("error", () => {});
  child.on("error", (error) => {
    stderr += `\nspawn failed: ${error.message}`;
  });
  createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    let report: NamespacePeerReport;
    try {
      report = JSON.parse(line) as NamespacePeerReport;
    } catch {
      stderr = `${stderr}\nstdout: ${line}`.slice(-DIAGNOSTIC_TAIL);
      return;
    }
    reports.push(report);
    for (const handler of handlers) handler(report);
    for (const waiter of waiters) waiter();
  });
  child.on("close", () => {
    exited = true;
    for (const waiter of waiters) waiter();
  });

  const diagnostics = () => {
    const status = exited ? `exited ${child.exitCode ?? child.signalCode}` : "running";
    const last = reports
      .filter((report) => report.kind !== "signal")
      .slice(-5)
      .map((report) => JSON.stringify(report).slice(0, 300));
    return `${options.label} (${status}); last reports: ${last.join(" | ") || "none"}; stderr: ${stderr.trim() || "empty"}`;
  };

  return {
    label: options.label,
    child,
    reports,
    command(command) {
      if (child.stdin.writable) child.stdin.write(`${JSON.stringify(command)}\n`);
    },
    onReport(handler) {
      handlers.add(handler);
    },
    take(kind, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const from = taken.get(kind) ?? 0;
          for (let index = from; index < reports.length; index++) {
            const report = reports[index]!;
            if (report.kind !== kind) continue;
            taken.set(kind, index + 1);
            finish();
            resolve(report as ReportOf<typeof kind>);
            return;
          }
          taken.set(kind, reports.length);
          if (exited) {
            finish();
            reject(new Error(`no "${kind}" report: ${diagnostics()}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no "${kind}" report within ${timeoutMs} ms: ${diagnostics()}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    diagnostics,
    async [Symbol.asyncDispose]() {
      if (exited) return;
      // A closed stdin makes the peer close its connection and exit; a hung one is killed.
      child.stdin.end();
      const closed = once(child, "close");
      const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await closed;
      clearTimeout(killer);
    },
  };
}

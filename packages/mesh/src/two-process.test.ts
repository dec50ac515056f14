// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests the transport across processes: a forked neuron-side peer, signalled over IPC, echoes what cortex sends.

import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { decodeMessage, neuronSessionMessageSchema } from "@helexa/protocol";
import type { EchoPeerCommand, EchoPeerReport } from "./__fixtures__/echo-peer.js";
import { createPeer, type Peer, type PeerCloseEvent } from "./peer.js";
import { requireLoopbackOnly } from "./testing/loopback-only.js";

interface EchoSession extends AsyncDisposable {
  child: ChildProcess;
  peer: Peer;
  reports: EchoPeerReport[];
}

function startEchoSession(): EchoSession {
  const child = fork(new URL("./__fixtures__/echo-peer.js", import.meta.url), { stdio: "inherit" });
  const command = (message: EchoPeerCommand) => {
    if (child.connected) child.send(message);
  };
  const peer = createPeer({
    role: "answerer",
    bindAddress: "127.0.0.1",
    onSignal: (signal) => command({ kind: "signal", raw: JSON.stringify(signal) }),
  });
  const reports: EchoPeerReport[] = [];
  child.on("message", (report: EchoPeerReport) => {
    reports.push(report);
    if (report.kind !== "signal") return;
    // This side plays cortex: what the neuron sends is validated as its WebSocket handler would.
    const message = decodeMessage(neuronSessionMessageSchema, report.raw);
    if (message.type === "signal.description" || message.type === "signal.candidate")
      peer.handleSignal(message);
  });
  return {
    child,
    peer,
    reports,
    async [Symbol.asyncDispose]() {
      peer.close();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test("a peer in another process connects, echoes 2,000 messages in order and a 1 MiB one", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using session = startEchoSession();
  await within(session.peer.opened, 10_000, "open across processes");
  const sent = Array.from({ length: 2000 }, (_, index) =>
    JSON.stringify({ type: "job.delta", index, text: "x".repeat(index % 300) }),
  );
  sent.splice(1000, 0, "é".repeat(512 * 1024));
  const echoed: string[] = [];
  const allEchoed = new Promise<void>((resolve) => {
    session.peer.onMessage((message) => {
      echoed.push(message);
      if (echoed.length === sent.length) resolve();
    });
  });
  for (const message of sent) {
    if (!session.peer.send(message)) await session.peer.drain();
  }
  await within(allEchoed, 15_000, "echoes");
  assert.equal(echoed.length, sent.length);
  for (const [index, message] of echoed.entries())
    assert.ok(message === sent[index], `echo ${index} differs`);
});

test("closing either side is seen by the other process, which then exits cleanly", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  {
    // Cortex hangs up: the neuron's peer reports a remote close and its process exits on its own.
    await using session = startEchoSession();
    await within(session.peer.opened, 10_000, "open");
    const exited = once(session.child, "exit");
    session.peer.close();
    const [code] = await within(exited, 3000, "child exit");
    assert.equal(code, 0);
    const closed = session.reports.find((report) => report.kind === "closed");
    assert.deepEqual(closed && { kind: closed.kind, reason: closed.reason }, {
      kind: "closed",
      reason: "remote",
    });
  }
  {
    // The neuron hangs up: cortex's peer sees it quickly.
    await using session = startEchoSession();
    await within(session.peer.opened, 10_000, "open");
    const closed = new Promise<PeerCloseEvent>((resolve) => session.peer.onClose(resolve));
    const startedAt = performance.now();
    session.child.send({ kind: "close" } satisfies EchoPeerCommand);
    const event = await within(closed, 2000, "cortex onClose");
    t.diagnostic(`cortex saw the neuron's close after ${(performance.now() - startedAt).toFixed(1)} ms`);
    assert.equal(event.reason, "remote");
  }
});

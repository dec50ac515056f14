// SPDX-License-Identifier: PolyForm-Shield-1.0
// One WebRTC peer in its own process (and network namespace), driven by JSON lines on stdin, reporting on stdout.

import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import {
  cortexSessionMessageSchema,
  decodeMessage,
  HelexaError,
  iceServerSchema,
  neuronSessionMessageSchema,
} from "@helexa/protocol";
import { createPeer, type Peer, type PeerRole } from "../peer.js";

/** What the test, playing cortex's relay, sends. */
export type NamespacePeerCommand =
  | {
      kind: "start";
      role: PeerRole;
      iceServers: unknown;
      iceTransportPolicy?: "all" | "relay";
      bindAddress?: string;
      openTimeoutMs: number;
    }
  | { kind: "signal"; raw: string }
  | { kind: "send"; text: string }
  /** Sends `count` messages of `messageSize` characters, as fast as backpressure allows. */
  | { kind: "blast"; messageSize: number; count: number }
  /** The next `count` messages are counted, not reported one by one. */
  | { kind: "count"; count: number }
  | { kind: "close" };

export type NamespacePeerReport =
  | { kind: "ready" }
  | { kind: "signal"; raw: string }
  | { kind: "opened"; handshakeMs: number; candidatePair: { local: string; remote: string } | null }
  /** Every message outside a count: its size and hash, and its text when short. */
  | { kind: "message"; length: number; sha256: string; text: string | null }
  | { kind: "counted"; count: number; characters: number }
  | { kind: "blasted" }
  | { kind: "closed"; reason: string; code: string | null; message: string | null }
  | { kind: "failed"; message: string };

const SHORT_MESSAGE = 200;

function report(message: NamespacePeerReport): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let peer: Peer | null = null;
let counting: { left: number; count: number; characters: number } | null = null;

function start(command: Extract<NamespacePeerCommand, { kind: "start" }>): void {
  if (peer !== null) throw new HelexaError("invalid_request", "start sent twice");
  const startedAt = performance.now();
  // The ICE servers reach a neuron in cortex's welcome; they are checked with the same schema here.
  const iceServers = iceServerSchema.array().parse(command.iceServers);
  const created = createPeer({
    role: command.role,
    iceServers,
    openTimeoutMs: command.openTimeoutMs,
    label: `namespace-${command.role}`,
    onSignal: (signal) => report({ kind: "signal", raw: JSON.stringify(signal) }),
    ...(command.iceTransportPolicy === undefined ? {} : { iceTransportPolicy: command.iceTransportPolicy }),
    ...(command.bindAddress === undefined ? {} : { bindAddress: command.bindAddress }),
  });
  peer = created;
  created.opened.then(
    () =>
      report({
        kind: "opened",
        handshakeMs: performance.now() - startedAt,
        candidatePair: created.stats().candidatePair,
      }),
    () => {},
  );
  created.onMessage((text) => {
    if (counting !== null) {
      counting.left -= 1;
      counting.characters += text.length;
      if (counting.left === 0) {
        report({ kind: "counted", count: counting.count, characters: counting.characters });
        counting = null;
      }
      return;
    }
    report({
      kind: "message",
      length: text.length,
      sha256: createHash("sha256").update(text).digest("hex"),
      text: text.length <= SHORT_MESSAGE ? text : null,
    });
  });
  created.onClose((event) => {
    report({
      kind: "closed",
      reason: event.reason,
      code: event.error?.code ?? null,
      message: event.error?.message ?? null,
    });
    // Nothing is left to do once the peer is gone; the test sees the exit.
    setImmediate(() => process.exit(0));
  });
}

function requirePeer(): Peer {
  if (peer === null) throw new HelexaError("invalid_request", "no peer yet: send start first");
  return peer;
}

async function handle(command: NamespacePeerCommand): Promise<void> {
  switch (command.kind) {
    case "start":
      start(command);
      return;
    case "signal": {
      const current = requirePeer();
      // The offerer is the neuron and hears cortex's messages; the answerer hears the neuron's.
      const schema = current.role === "offerer" ? cortexSessionMessageSchema : neuronSessionMessageSchema;
      const message = decodeMessage(schema, command.raw);
      if (message.type === "signal.description" || message.type === "signal.candidate")
        current.handleSignal(message);
      return;
    }
    case "send":
      requirePeer().send(command.text);
      return;
    case "blast": {
      const current = requirePeer();
      const payload = "r".repeat(command.messageSize);
      for (let index = 0; index < command.count; index++) {
        if (!current.send(payload)) await current.drain();
      }
      report({ kind: "blasted" });
      return;
    }
    case "count":
      counting = { left: command.count, count: command.count, characters: 0 };
      return;
    case "close":
      requirePeer().close();
      return;
  }
}

// Commands run one at a time, in order: a send queued behind a blast waits for it.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
lines.on("line", (line) => {
  queue = queue
    .then(() => handle(JSON.parse(line) as NamespacePeerCommand))
    .catch((error: unknown) => {
      report({ kind: "failed", message: error instanceof Error ? error.message : String(error) });
    });
});
// The test went away (it crashed, or was killed): so does this peer, leaving nothing behind.
lines.on("close", () => {
  peer?.close();
  process.exit(0);
});
report({ kind: "ready" });

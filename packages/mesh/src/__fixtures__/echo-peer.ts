// SPDX-License-Identifier: PolyForm-Shield-1.0
// The neuron's side in another process: offers over IPC signalling and echoes every message back.

import { cortexSessionMessageSchema, decodeMessage } from "@helexa/protocol";
import { createPeer } from "../peer.js";

/** What the parent, playing cortex, sends: a relayed signal as raw JSON, or an order to hang up. */
export type EchoPeerCommand = { kind: "signal"; raw: string } | { kind: "close" };

export type EchoPeerReport =
  | { kind: "signal"; raw: string }
  | { kind: "opened"; handshakeMs: number }
  | { kind: "closed"; reason: string; message: string | null };

function report(message: EchoPeerReport, then: () => void = () => {}): void {
  process.send?.(message, undefined, undefined, then);
}

const startedAt = performance.now();
const peer = createPeer({
  role: "offerer",
  bindAddress: "127.0.0.1",
  label: "echo-peer",
  onSignal: (signal) => report({ kind: "signal", raw: JSON.stringify(signal) }),
});

process.on("message", (command: EchoPeerCommand) => {
  if (command.kind === "close") {
    peer.close();
    return;
  }
  // What cortex relays is validated here as the neuron would.
  const message = decodeMessage(cortexSessionMessageSchema, command.raw);
  if (message.type === "signal.description" || message.type === "signal.candidate")
    peer.handleSignal(message);
});

peer.onMessage((message) => {
  // Echo with backpressure, as a neuron streaming tokens would.
  if (!peer.send(message)) void peer.drain().catch(() => {});
});
peer.onClose((event) => {
  report({ kind: "closed", reason: event.reason, message: event.error?.message ?? null }, () =>
    process.disconnect(),
  );
});
peer.opened.then(
  () => report({ kind: "opened", handshakeMs: performance.now() - startedAt }),
  () => {},
);

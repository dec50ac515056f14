// SPDX-License-Identifier: PolyForm-Shield-1.0
// Benchmark of the mesh between two processes: handshake time, bulk throughput, 1 KiB message rate, round trips.
//
// Run inside a loopback-only namespace: `npm run bench -w @helexa/mesh`. This process plays cortex
// (answerer); a forked copy of it plays the neuron (offerer), signalled over the IPC channel.

import { fork } from "node:child_process";
import { createPeer, type Peer, type Signal } from "./peer.js";

type ToNeuron =
  | { kind: "connect"; id: number }
  | { kind: "signal"; id: number; signal: Signal }
  | { kind: "blast"; id: number; messageSize: number; count: number }
  | { kind: "exit" };
type ToCortex = { kind: "signal"; id: number; signal: Signal } | { kind: "blasted"; id: number };

const HANDSHAKES = 40;
const BULK_BYTES = 128 * 1024 * 1024;
const SMALL_MESSAGES = 200_000;
const ROUND_TRIPS = 2_000;

if (process.argv[2] === "--neuron") runNeuron();
else await runCortex();

function runNeuron(): void {
  const peers = new Map<number, Peer>();
  const send = (message: ToCortex) => process.send?.(message);
  process.on("message", async (message: ToNeuron) => {
    if (message.kind === "exit") {
      for (const peer of peers.values()) peer.close();
      process.disconnect();
    } else if (message.kind === "connect") {
      const peer = createPeer({
        role: "offerer",
        bindAddress: "127.0.0.1",
        onSignal: (signal) => send({ kind: "signal", id: message.id, signal }),
      });
      // Everything that comes back is echoed: the round-trip measurement.
      peer.onMessage((text) => peer.send(text));
      peers.set(message.id, peer);
    } else if (message.kind === "signal") {
      peers.get(message.id)?.handleSignal(message.signal);
    } else if (message.kind === "blast") {
      const peer = peers.get(message.id)!;
      const payload = "n".repeat(message.messageSize);
      for (let index = 0; index < message.count; index++) {
        if (!peer.send(payload)) await peer.drain();
      }
      send({ kind: "blasted", id: message.id });
    }
  });
}

async function runCortex(): Promise<void> {
  const neuron = fork(new URL(import.meta.url), ["--neuron"]);
  const peers = new Map<number, Peer>();
  const command = (message: ToNeuron) => neuron.send(message);
  neuron.on("message", (message: ToCortex) => {
    if (message.kind === "signal") peers.get(message.id)?.handleSignal(message.signal);
  });

  function connect(id: number): Peer {
    const peer = createPeer({
      role: "answerer",
      bindAddress: "127.0.0.1",
      onSignal: (signal) => command({ kind: "signal", id, signal }),
    });
    peers.set(id, peer);
    command({ kind: "connect", id });
    return peer;
  }

  const handshakes: number[] = [];
  for (let id = 1; id <= HANDSHAKES; id++) {
    const startedAt = performance.now();
    const peer = connect(id);
    await peer.opened;
    handshakes.push(performance.now() - startedAt);
    peer.close();
    peers.delete(id);
  }
  handshakes.sort((left, right) => left - right);
  const percentile = (fraction: number) =>
    handshakes[Math.min(handshakes.length - 1, Math.floor(handshakes.length * fraction))]!;
  print(
    `handshake (answerer side, across processes, n=${HANDSHAKES})`,
    `p50 ${percentile(0.5).toFixed(1)} ms, p90 ${percentile(0.9).toFixed(1)} ms, max ${handshakes.at(-1)!.toFixed(1)} ms`,
  );

  const peer = connect(0);
  await peer.opened;

  for (const messageSize of [16 * 1024, 64 * 1024]) {
    const count = Math.floor(BULK_BYTES / messageSize);
    const seconds = await receiveBlast(peer, { messageSize, count });
    print(
      `throughput, ${messageSize / 1024} KiB messages`,
      `${((count * messageSize) / 1e6 / seconds).toFixed(1)} MB/s (${(count * messageSize) / 1024 / 1024} MiB in ${seconds.toFixed(2)} s)`,
    );
  }

  const seconds = await receiveBlast(peer, { messageSize: 1024, count: SMALL_MESSAGES });
  print(
    "1 KiB messages",
    `${Math.round(SMALL_MESSAGES / seconds).toLocaleString("en-US")} msg/s (${SMALL_MESSAGES.toLocaleString("en-US")} in ${seconds.toFixed(2)} s)`,
  );

  const roundTrips: number[] = [];
  for (let index = 0; index < ROUND_TRIPS; index++) {
    const startedAt = performance.now();
    await new Promise<void>((resolve) => {
      const stop = peer.onMessage(() => {
        stop();
        resolve();
      });
      peer.send(`{"type":"job.delta","text":"token ${index}"}`);
    });
    roundTrips.push(performance.now() - startedAt);
  }
  roundTrips.sort((left, right) => left - right);
  print(
    `round trip, small message (n=${ROUND_TRIPS})`,
    `p50 ${(roundTrips[ROUND_TRIPS / 2]! * 1000).toFixed(0)} µs, p99 ${(roundTrips[Math.floor(ROUND_TRIPS * 0.99)]! * 1000).toFixed(0)} µs`,
  );

  peer.close();
  command({ kind: "exit" });

  async function receiveBlast(target: Peer, blast: { messageSize: number; count: number }): Promise<number> {
    let received = 0;
    let firstAt = 0;
    const done = new Promise<number>((resolve) => {
      const stop = target.onMessage((text) => {
        if (received === 0) firstAt = performance.now();
        if (text.length !== blast.messageSize) throw new Error(`message of ${text.length} characters`);
        received += 1;
        if (received === blast.count) {
          stop();
          resolve((performance.now() - firstAt) / 1000);
        }
      });
    });
    command({ kind: "blast", id: 0, ...blast });
    return done;
  }
}

function print(label: string, figure: string): void {
  process.stdout.write(`${label.padEnd(52)} ${figure}\n`);
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Two peers joined by an in-memory signalling relay that serialises and validates signals as cortex does.

import { cortexSessionMessageSchema, decodeMessage, neuronSessionMessageSchema } from "@helexa/protocol";
import { type CreatePeerOptions, createPeer, type Peer, type PeerRole, type Signal } from "../peer.js";

export type PeerSettings = Omit<CreatePeerOptions, "role" | "onSignal">;

export interface SignalRelayOptions {
  /** True for a signal the relay loses on its way to `to`. */
  drop?: (signal: Signal, to: PeerRole) => boolean;
  /** Holds descriptions back this long while candidates pass at once, so candidates arrive first. */
  descriptionDelayMs?: number;
}

export interface CreatePeerPairOptions {
  /** Settings for both sides; `bindAddress` defaults to 127.0.0.1. */
  shared?: PeerSettings;
  offerer?: PeerSettings;
  answerer?: PeerSettings;
  relay?: SignalRelayOptions;
}

export interface PeerPair extends AsyncDisposable {
  /** The neuron's side. */
  offerer: Peer;
  /** Cortex's side. */
  answerer: Peer;
  /** Resolves when both channels are open. */
  opened: Promise<void>;
  /** Every signal handed to a peer, in order, after its JSON round trip and validation. */
  deliveries: Array<{ to: PeerRole; signal: Signal }>;
}

export function createPeerPair(options: CreatePeerPairOptions = {}): PeerPair {
  const shared: PeerSettings = { bindAddress: "127.0.0.1", ...options.shared };
  const deliveries: PeerPair["deliveries"] = [];
  const peers: { offerer?: Peer; answerer?: Peer } = {};

  function relay(signal: Signal, to: PeerRole): void {
    if (options.relay?.drop?.(signal, to)) return;
    // The neuron's signals reach cortex as neuron session messages and go back as cortex ones.
    const raw = JSON.stringify(signal);
    const schema = to === "answerer" ? neuronSessionMessageSchema : cortexSessionMessageSchema;
    const decoded = decodeMessage(schema, raw);
    if (decoded.type !== "signal.description" && decoded.type !== "signal.candidate") {
      throw new Error(`relay decoded a ${decoded.type}, not a signal`);
    }
    const delay = decoded.type === "signal.description" ? (options.relay?.descriptionDelayMs ?? 0) : 0;
    const deliver = () => {
      deliveries.push({ to, signal: decoded });
      peers[to]?.handleSignal(decoded);
    };
    // Asynchronous like a socket: a signal never lands inside the sender's own callback.
    if (delay > 0) setTimeout(deliver, delay);
    else setImmediate(deliver);
  }

  const answerer = createPeer({
    ...shared,
    ...options.answerer,
    role: "answerer",
    onSignal: (signal) => relay(signal, "offerer"),
  });
  peers.answerer = answerer;
  const offerer = createPeer({
    ...shared,
    ...options.offerer,
    role: "offerer",
    onSignal: (signal) => relay(signal, "answerer"),
  });
  peers.offerer = offerer;
  const opened = Promise.all([offerer.opened, answerer.opened]).then(() => {});
  opened.catch(() => {});

  return {
    offerer,
    answerer,
    opened,
    deliveries,
    async [Symbol.asyncDispose]() {
      offerer.close();
      answerer.close();
    },
  };
}

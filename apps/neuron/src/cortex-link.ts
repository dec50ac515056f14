// SPDX-License-Identifier: PolyForm-Shield-1.0
// The neuron's link to cortex: dial the orchestrator WebSocket, say hello, open the data channel, reconnect.

import type { Logger } from "@helexa/log";
import { createPeer, type Peer } from "@helexa/mesh";
import {
  type Capabilities,
  type CortexSessionMessage,
  cortexSessionMessageSchema,
  decodeMessage,
  encodeMessage,
  HelexaError,
  type ModelError,
  type ModelLoad,
  type ModelProgress,
  type ModelUnload,
  type NeuronSessionMessage,
  PROTOCOL_VERSION,
} from "@helexa/protocol";
import WebSocket from "ws";

export type LinkState = "connecting" | "connected" | "reconnecting" | "stopped" | "rejected";

export interface CortexLinkOptions {
  url: string;
  token: string;
  name: string;
  software: string;
  capabilities: () => Omit<Capabilities, "type">;
  /** Called with the open data channel; the returned function runs when it closes. */
  onChannel: (peer: Peer) => void;
  onChannelLost: (reason: string) => void;
  /** cortex asks for a model to be loaded or unloaded; without a handler the neuron answers model.error. */
  onModelCommand?: (command: ModelLoad | ModelUnload) => void;
  iceBindAddress?: string;
  icePortRange?: { begin: number; end: number };
  log: Logger;
  /** Longest wait between reconnection attempts. */
  maxBackoffMs?: number;
}

/** Close codes after which dialling again cannot help: a wrong version or a bad token. */
const FATAL_CLOSE_CODES = new Set([4000, 4001]);

export class CortexLink {
  state: LinkState = "connecting";
  neuronId: string | null = null;
  lastError: string | null = null;
  readonly #options: CortexLinkOptions;
  #socket: WebSocket | null = null;
  #peer: Peer | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #retry: NodeJS.Timeout | null = null;
  #attempt = 0;
  #stopped = false;
  #draining = false;
  #firstConnection: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(options: CortexLinkOptions) {
    this.#options = options;
  }

  /** Dials cortex; resolves once the data channel is open, rejects if cortex turns the neuron away. */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.#firstConnection = { resolve, reject };
    });
    this.#dial();
    return ready;
  }

  /** Sends fresh capabilities, as after a model is loaded; a draining neuron says so again after them. */
  announce(): void {
    this.#sendSession({ type: "capabilities", ...this.#options.capabilities() });
    if (this.#draining) this.#sendSession({ type: "draining" });
  }

  /** Tells cortex to place no new jobs here, now and after any reconnection; running jobs go on. */
  drain(): void {
    this.#draining = true;
    this.#sendSession({ type: "draining" });
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Reports a model load's progress or failure to cortex; dropped while disconnected (cortex then forgets the load). */
  sendModelMessage(message: ModelProgress | ModelError): void {
    this.#sendSession(message);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.state = "stopped";
    if (this.#retry) clearTimeout(this.#retry);
    // The last job's job.end may still sit in the channel's send queue: closing now would drop it, and
    // cortex would see a reply that never finished.
    await flushed(this.#peer, 2000);
    this.#teardown("the neuron is shutting down");
    const socket = this.#socket;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000, "neuron shutting down");
        setTimeout(resolve, 1000).unref();
      });
    }
  }

  #dial(): void {
    const { log } = this.#options;
    this.state = this.#attempt === 0 ? "connecting" : "reconnecting";
    const socket = new WebSocket(this.#options.url, { handshakeTimeout: 10_000, maxPayload: 1024 * 1024 });
    this.#socket = socket;
    socket.on("open", () => {
      socket.send(
        encodeMessage({
          type: "hello",
          protocol: PROTOCOL_VERSION,
          role: "neuron",
          token: this.#options.token,
          name: this.#options.name,
          software: this.#options.software,
        }),
      );
    });
    socket.on("message", (data) => {
      let message: CortexSessionMessage;
      try {
        message = decodeMessage(cortexSessionMessageSchema, data.toString());
      } catch (error) {
        log.warn("cortex.protocol_violation", { message: (error as Error).message });
        return;
      }
      this.#onSessionMessage(message);
    });
    socket.on("error", (error) => {
      this.lastError = error.message;
      log.debug("cortex.socket_error", { message: error.message });
    });
    socket.on("close", (code, reason) => {
      this.#teardown(`the WebSocket closed (${code}${reason.length ? `: ${reason.toString()}` : ""})`);
      if (this.#stopped) return;
      if (FATAL_CLOSE_CODES.has(code)) {
        this.state = "rejected";
        const error = new HelexaError(
          code === 4000 ? "protocol_version_unsupported" : "unauthenticated",
          this.lastError ?? reason.toString(),
        );
        log.error("cortex.rejected", { code: error.code, message: error.message });
        this.#firstConnection?.reject(error);
        this.#firstConnection = null;
        return;
      }
      this.#scheduleRetry();
    });
  }

  #onSessionMessage(message: CortexSessionMessage): void {
    const { log } = this.#options;
    switch (message.type) {
      case "welcome": {
        this.neuronId = message.neuronId;
        this.#attempt = 0;
        this.#heartbeat = setInterval(
          () => this.#sendSession({ type: "heartbeat", sentAt: Date.now() }),
          message.heartbeatIntervalMs,
        );
        this.#openChannel(message.iceServers);
        this.announce();
        break;
      }
      case "error":
        this.lastError = message.error.message;
        log.warn("cortex.error", { code: message.error.code, message: message.error.message });
        break;
      case "heartbeat":
        break;
      case "signal.description":
      case "signal.candidate":
        this.#peer?.handleSignal(message);
        break;
      case "model.load":
      case "model.unload":
        if (this.#options.onModelCommand) this.#options.onModelCommand(message);
        else {
          const error = new HelexaError("invalid_request", "this neuron does not load models on request");
          this.#sendSession({ type: "model.error", modelId: message.modelId, error: error.toWire() });
        }
        break;
    }
  }

  #openChannel(iceServers: Extract<CortexSessionMessage, { type: "welcome" }>["iceServers"]): void {
    const { log } = this.#options;
    const peer = createPeer({
      role: "offerer",
      iceServers,
      ...(this.#options.iceBindAddress ? { bindAddress: this.#options.iceBindAddress } : {}),
      ...(this.#options.icePortRange ? { portRange: this.#options.icePortRange } : {}),
      label: `neuron-${this.neuronId ?? "new"}`,
      onSignal: (signal) => this.#sendSession(signal),
    });
    this.#peer = peer;
    peer.opened.then(
      () => {
        if (this.#peer !== peer) return;
        this.state = "connected";
        this.lastError = null;
        log.info("cortex.connected", { neuronId: this.neuronId, url: this.#options.url });
        this.#options.onChannel(peer);
        this.#firstConnection?.resolve();
        this.#firstConnection = null;
      },
      (error: unknown) => {
        this.lastError = `the data channel did not open: ${(error as Error).message}`;
        log.warn("cortex.channel_failed", { message: this.lastError });
        this.#socket?.close(1000, "data channel failed");
      },
    );
    peer.onClose(() => {
      if (this.#peer !== peer) return;
      this.#socket?.close(1000, "data channel closed");
    });
  }

  #sendSession(message: NeuronSessionMessage): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(encodeMessage(message));
  }

  #teardown(reason: string): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    const peer = this.#peer;
    this.#peer = null;
    if (peer) {
      peer.close();
      this.#options.onChannelLost(reason);
    }
  }

  #scheduleRetry(): void {
    const maxBackoff = this.#options.maxBackoffMs ?? 10_000;
    const delay = Math.min(maxBackoff, 250 * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt += 1;
    this.state = "reconnecting";
    this.#options.log.info("cortex.reconnecting", { inMs: Math.round(delay), lastError: this.lastError });
    this.#retry = setTimeout(() => this.#dial(), delay);
  }
}

/** Waits until the channel has handed every queued message to the transport, for at most `timeoutMs`. */
async function flushed(peer: Peer | null, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (peer && peer.state === "open" && peer.bufferedAmount > 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

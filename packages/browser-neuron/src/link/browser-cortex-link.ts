// SPDX-License-Identifier: PolyForm-Shield-1.0
// A browser tab's link to cortex: the orchestrator WebSocket, hello, the relayed WebRTC offer, heartbeats, reconnection.

import {
  type Capabilities,
  type CortexSessionMessage,
  cortexSessionMessageSchema,
  decodeMessage,
  encodeMessage,
  HelexaError,
  type NeuronSessionMessage,
  PROTOCOL_VERSION,
  type Welcome,
} from "@helexa/protocol";
import { type BrowserPeer, createBrowserPeer } from "./browser-peer.js";

export type BrowserLinkState = "connecting" | "connected" | "reconnecting" | "stopped" | "rejected";

/** Log lines of the link; the console by default. */
export interface BrowserLinkLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

export interface BrowserCortexLinkOptions {
  /** cortex's orchestrator socket, ws:// or wss:// (the donate token's `cortexUrl`). */
  url: string;
  token: string;
  /** Shown in cortex's registry and the operator's page. */
  name: string;
  software: string;
  /** What the tab serves, sent after the welcome and again on `announce()`. */
  capabilities: () => Omit<Capabilities, "type">;
  /** The data channel is open: jobs come and go on it. */
  onChannel: (peer: BrowserPeer) => void;
  /** It closed (the link reconnects unless stopped); jobs on it are lost. */
  onChannelLost: (reason: string) => void;
  onStateChange?: (
    state: BrowserLinkState,
    detail: { neuronId: string | null; lastError: string | null },
  ) => void;
  /** Longest wait between reconnection attempts (default 10 s). */
  maxBackoffMs?: number;
  /** How long the data channel may take to open (default 15 s). */
  openTimeoutMs?: number;
  log?: BrowserLinkLog;
}

/** Close codes after which dialling again cannot help: a wrong version or a bad token. */
const fatalCloseCodes = new Set([4000, 4001]);

/**
 * The same session as a native neuron's (`helexa/1` hello with role neuron, welcome, relayed signals,
 * capabilities, heartbeats), over the page's own WebSocket and RTCPeerConnection. `leave()` says
 * `draining` and closes both at once, which takes the tab out of cortex's registry immediately: what a
 * closing page calls from pagehide, when nothing asynchronous can finish any more.
 */
export class BrowserCortexLink {
  #state: BrowserLinkState = "connecting";
  neuronId: string | null = null;
  lastError: string | null = null;
  readonly #options: BrowserCortexLinkOptions;
  readonly #log: BrowserLinkLog;
  #socket: WebSocket | null = null;
  #peer: BrowserPeer | null = null;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #attempt = 0;
  #stopped = false;
  #draining = false;
  #firstConnection: { resolve: () => void; reject: (error: Error) => void } | null = null;

  constructor(options: BrowserCortexLinkOptions) {
    this.#options = options;
    this.#log = options.log ?? consoleLog;
  }

  get state(): BrowserLinkState {
    return this.#state;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Dials cortex; resolves once the data channel is open, rejects if cortex turns the tab away. */
  start(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.#firstConnection = { resolve, reject };
    });
    this.#dial();
    return ready;
  }

  /** Sends the capabilities again (a new model, a new measurement); a draining tab says so again after them. */
  announce(): void {
    this.#sendSession({ type: "capabilities", ...this.#options.capabilities() });
    if (this.#draining) this.#sendSession({ type: "draining" });
  }

  /** No new jobs from now on, here and after any reconnection; running ones go on. */
  drain(): void {
    this.#draining = true;
    this.#sendSession({ type: "draining" });
  }

  /**
   * Leaves at once and for good: `draining`, then the data channel and the WebSocket closed, all
   * synchronously, so it works from pagehide and beforeunload. cortex drops the tab from its registry as
   * the WebSocket closes; jobs still running end there as the neuron's loss.
   */
  leave(reason = "the tab is closing"): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#sendSession({ type: "draining" });
    if (this.#retry) clearTimeout(this.#retry);
    this.#teardown(reason);
    const socket = this.#socket;
    if (socket && socket.readyState !== WebSocket.CLOSED) socket.close(1000, "the browser neuron left");
    this.#setState("stopped");
  }

  #setState(state: BrowserLinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onStateChange?.(state, { neuronId: this.neuronId, lastError: this.lastError });
  }

  #dial(): void {
    this.#setState(this.#attempt === 0 ? "connecting" : "reconnecting");
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#options.url);
    } catch (error) {
      // A malformed URL: no retry can help.
      this.#reject(new HelexaError("invalid_request", `cannot dial ${this.#options.url}: ${String(error)}`));
      return;
    }
    this.#socket = socket;
    socket.addEventListener("open", () => {
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
    socket.addEventListener("message", (event: MessageEvent) => {
      if (this.#socket !== socket || typeof event.data !== "string") return;
      let message: CortexSessionMessage;
      try {
        message = decodeMessage(cortexSessionMessageSchema, event.data);
      } catch (error) {
        // A message of a newer cortex this tab does not know: the session goes on without it.
        this.#log.warn("cortex.unknown_message", { message: (error as Error).message });
        return;
      }
      this.#onSessionMessage(message);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      if (this.#socket !== socket) return;
      this.#teardown(`the WebSocket closed (${event.code}${event.reason ? `: ${event.reason}` : ""})`);
      if (this.#stopped) return;
      if (fatalCloseCodes.has(event.code)) {
        this.#reject(
          new HelexaError(
            event.code === 4000 ? "protocol_version_unsupported" : "unauthenticated",
            this.lastError ?? (event.reason || "cortex refused the neuron token"),
          ),
        );
        return;
      }
      if (event.code !== 1000 && event.code !== 1001)
        this.lastError ??= `the WebSocket closed (${event.code})`;
      this.#scheduleRetry();
    });
  }

  #reject(error: HelexaError): void {
    this.lastError = error.message;
    this.#stopped = true;
    this.#log.warn("cortex.rejected", { code: error.code, message: error.message });
    this.#setState("rejected");
    this.#firstConnection?.reject(error);
    this.#firstConnection = null;
  }

  #onSessionMessage(message: CortexSessionMessage): void {
    switch (message.type) {
      case "welcome":
        this.#welcomed(message);
        break;
      case "error":
        this.lastError = message.error.message;
        this.#log.warn("cortex.error", { code: message.error.code, message: message.error.message });
        break;
      case "signal.description":
      case "signal.candidate":
        this.#peer?.handleSignal(message);
        break;
      default:
        // Heartbeats need no answer; what else cortex says (model commands) is not for a tab that never offered it.
        break;
    }
  }

  #welcomed(welcome: Welcome): void {
    this.neuronId = welcome.neuronId;
    this.#attempt = 0;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(
      () => this.#sendSession({ type: "heartbeat", sentAt: Date.now() }),
      welcome.heartbeatIntervalMs,
    );
    const peer = createBrowserPeer({
      iceServers: welcome.iceServers,
      onSignal: (signal) => this.#sendSession(signal),
      ...(this.#options.openTimeoutMs ? { openTimeoutMs: this.#options.openTimeoutMs } : {}),
    });
    this.#peer = peer;
    peer.opened.then(
      () => {
        if (this.#peer !== peer) return;
        this.lastError = null;
        this.#setState("connected");
        this.#log.info("cortex.connected", { neuronId: this.neuronId });
        this.#options.onChannel(peer);
        this.#firstConnection?.resolve();
        this.#firstConnection = null;
      },
      (error: unknown) => {
        if (this.#peer !== peer) return;
        this.lastError = `the data channel did not open: ${(error as Error).message}`;
        this.#log.warn("cortex.channel_failed", { message: this.lastError });
        this.#socket?.close(1000, "data channel failed");
      },
    );
    peer.onClose(() => {
      if (this.#peer === peer) this.#socket?.close(1000, "data channel closed");
    });
    this.announce();
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
    this.#setState("reconnecting");
    this.#log.info("cortex.reconnecting", { inMs: Math.round(delay), lastError: this.lastError });
    this.#retry = setTimeout(() => this.#dial(), delay);
  }
}

const consoleLog: BrowserLinkLog = {
  info: (event, fields) => console.info(`helexa ${event}`, fields ?? {}),
  warn: (event, fields) => console.warn(`helexa ${event}`, fields ?? {}),
};

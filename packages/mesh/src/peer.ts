// SPDX-License-Identifier: PolyForm-Shield-1.0
// One WebRTC peer carrying a single reliable, ordered data channel; signals go out and come in through the caller.

import { HelexaError, type IceServer, type SignalCandidate, type SignalDescription } from "@helexa/protocol";
import nodeDataChannel, { type DataChannel, type PeerConnection, type RtcConfig } from "node-datachannel";
import { toNativeIceServers } from "./ice-servers.js";
import { createFrameDecoder, encodeFrames, type FrameDecoder } from "./message-framing.js";

/** The one data channel every helexa connection carries; the offerer creates it. */
export const CHANNEL_LABEL = "helexa";
export const DEFAULT_OPEN_TIMEOUT_MS = 15_000;
/** The largest whole message, after reassembly; job messages are far smaller, a long prompt may not be. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
// A peer floods us with candidates only to exhaust memory; a real one sends a handful.
const MAX_QUEUED_REMOTE_CANDIDATES = 256;
// Chromium's limit. A remote that advertises more (Firefox says 1 GiB) still gets fragments this
// size, so one large message never sits in SCTP's send buffer as a single block.
const MAX_FRAME_SIZE = 256 * 1024;

export type Signal = SignalDescription | SignalCandidate;
export type PeerRole = "offerer" | "answerer";
export type PeerState = "connecting" | "open" | "closed";

export interface CreatePeerOptions {
  /** The neuron (and a browser tab) offers, since it dials out from behind NAT; cortex answers. */
  role: PeerRole;
  /** Called with each signal to relay to the other side; cortex carries them over the neuron's WebSocket. */
  onSignal: (signal: Signal) => void;
  /** STUN and TURN servers in the browser's form. None (the default) means no traffic to any server. */
  iceServers?: IceServer[];
  /** Gather ICE candidates on this address only, e.g. 127.0.0.1 for a machine-local fabric. */
  bindAddress?: string;
  /**
   * "relay" signals TURN relay candidates only, the one path through the strictest NATs. It does not
   * hide this end's address: libjuice still sends connectivity checks from its host socket
   * (libdatachannel#1587), so where that address reaches the other end's relay, the pair uses it.
   * Default "all".
   */
  iceTransportPolicy?: "all" | "relay";
  portRange?: { begin: number; end: number };
  /** A name for this connection in native logs. */
  label?: string;
  /** The largest message sent or accepted, in UTF-8 bytes; larger ones are split across SCTP messages. */
  maxMessageSize?: number;
  /** How long `opened` waits for the channel before rejecting with a `timeout` HelexaError. */
  openTimeoutMs?: number;
  /** Above this many buffered bytes `send` returns false; `drain` waits until a quarter of it. */
  highWaterMark?: number;
}

export type PeerCloseReason = "local" | "remote" | "failed" | "timeout";

export interface PeerCloseEvent {
  reason: PeerCloseReason;
  /** Null only when this side called `close`. */
  error: HelexaError | null;
}

export interface PeerStats {
  messagesSent: number;
  messagesReceived: number;
  /** Message bytes handed to and taken from SCTP (fragment flags included); frozen at close. */
  bytesSent: number;
  bytesReceived: number;
  /** Smoothed SCTP round-trip time, or null before one is known. */
  roundTripTimeMs: number | null;
  /** The ICE candidate types of the pair in use ("host", "srflx", "prflx", "relay"); null before one is chosen. */
  candidatePair: { local: string; remote: string } | null;
}

export interface Peer extends Disposable, AsyncDisposable {
  readonly role: PeerRole;
  readonly state: PeerState;
  /**
   * Resolves when the data channel opens; rejects on failure, close or timeout with a HelexaError.
   * Usually a few ms on loopback, but some handshakes take a second more: libdatachannel 0.24.5
   * (OpenSSL) can park a ClientHello that lands while its DTLS server is starting until the client
   * retransmits 1 s later. Nothing on this side of the binding can shorten that.
   */
  readonly opened: Promise<void>;
  /** Bytes queued in the channel and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Applies a description or candidate from the other side. Never throws: a bad signal closes the peer. */
  handleSignal(signal: Signal): void;
  /**
   * Queues a message. Returns false once `bufferedAmount` is over the high-water mark: the message is
   * still sent, but the caller should `await drain()` before the next. Throws when not open or too large.
   */
  send(message: string): boolean;
  /** Resolves once the buffer is down to the low-water mark; rejects if the peer closes first. */
  drain(): Promise<void>;
  /** Messages that arrive before any handler is registered are kept and handed to the first one. */
  onMessage(handler: (message: string) => void): () => void;
  /** Fires exactly once, when either side closes, the connection fails or it does not open in time. */
  onClose(handler: (event: PeerCloseEvent) => void): () => void;
  close(): void;
  stats(): PeerStats;
}

// A native object the JavaScript side no longer references is collected and its channel closed
// mid-connection (seen here): every live peer is held until it closes.
const livePeers = new Set<WebRtcPeer>();

export function createPeer(options: CreatePeerOptions): Peer {
  return new WebRtcPeer(options);
}

interface DrainWaiter {
  resolve: () => void;
  reject: (error: HelexaError) => void;
}

class WebRtcPeer implements Peer {
  readonly role: PeerRole;
  readonly opened: Promise<void>;
  #state: PeerState = "connecting";
  readonly #onSignal: (signal: Signal) => void;
  readonly #connection: PeerConnection;
  #channel: DataChannel | null = null;
  readonly #openTimeoutMs: number;
  readonly #openTimer: NodeJS.Timeout;
  readonly #maxMessageSize: number;
  readonly #highWaterMark: number;
  readonly #decoder: FrameDecoder;
  #frameSize = 0;
  #resolveOpened!: () => void;
  #rejectOpened!: (error: HelexaError) => void;

  #localDescriptionSent = false;
  #remoteDescriptionApplied = false;
  #pendingLocalCandidates: SignalCandidate[] = [];
  #pendingRemoteCandidates: SignalCandidate[] = [];
  #remoteCandidatesApplied = 0;
  #lastCandidateError: string | null = null;

  readonly #messageHandlers = new Set<(message: string) => void>();
  #unclaimedMessages: string[] = [];
  readonly #closeHandlers = new Set<(event: PeerCloseEvent) => void>();
  #closeEvent: PeerCloseEvent | null = null;
  #drainWaiters: DrainWaiter[] = [];
  #messagesSent = 0;
  #messagesReceived = 0;
  #frozenStats: PeerStats | null = null;

  constructor(options: CreatePeerOptions) {
    this.role = options.role;
    this.#onSignal = options.onSignal;
    this.#openTimeoutMs = positiveInteger(options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS, "openTimeoutMs");
    this.#maxMessageSize = positiveInteger(
      options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      "maxMessageSize",
    );
    this.#highWaterMark = positiveInteger(options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, "highWaterMark");
    this.#decoder = createFrameDecoder({ maxMessageSize: this.#maxMessageSize });
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    // The failure also reaches onClose; a caller that only listens there must not crash the process.
    this.opened.catch(() => {});

    const config: RtcConfig = { iceServers: toNativeIceServers(options.iceServers ?? []) };
    if (options.bindAddress !== undefined) config.bindAddress = options.bindAddress;
    if (options.iceTransportPolicy !== undefined) config.iceTransportPolicy = options.iceTransportPolicy;
    if (options.portRange !== undefined) {
      const { begin, end } = options.portRange;
      if (!isPort(begin) || !isPort(end) || begin > end) {
        throw new HelexaError(
          "invalid_request",
          `portRange must be two ports with begin <= end, got ${begin}-${end}`,
        );
      }
      config.portRangeBegin = begin;
      config.portRangeEnd = end;
    }
    try {
      this.#connection = new nodeDataChannel.PeerConnection(options.label ?? `helexa-${this.role}`, config);
    } catch (error) {
      throw new HelexaError("invalid_request", `could not create the WebRTC peer: ${messageOf(error)}`, {
        cause: error,
      });
    }
    livePeers.add(this);
    this.#connection.onLocalDescription((sdp, type) => this.#handleLocalDescription(sdp, type));
    this.#connection.onLocalCandidate((candidate, mid) => this.#handleLocalCandidate(candidate, mid));
    this.#connection.onStateChange((state) => this.#handleConnectionState(state));
    if (this.role === "offerer") {
      // Creating the channel starts negotiation: the offer arrives through onLocalDescription.
      this.#attachChannel(this.#connection.createDataChannel(CHANNEL_LABEL));
    } else {
      this.#connection.onDataChannel((channel) => this.#acceptChannel(channel));
    }
    this.#openTimer = setTimeout(() => this.#handleOpenTimeout(), this.#openTimeoutMs);
  }

  get state(): PeerState {
    return this.#state;
  }

  get bufferedAmount(): number {
    if (this.#state !== "open" || this.#channel === null) return 0;
    return this.#channel.bufferedAmount();
  }

  handleSignal(signal: Signal): void {
    if (this.#state === "closed") return;
    switch (signal.type) {
      case "signal.description":
        this.#applyRemoteDescription(signal);
        return;
      case "signal.candidate":
        this.#applyRemoteCandidate(signal);
        return;
      default:
        this.#fail("failed", new HelexaError("protocol_violation", "unknown signal type"));
    }
  }

  send(message: string): boolean {
    if (this.#state !== "open" || this.#channel === null) {
      if (this.#closeEvent !== null) {
        throw this.#closeEvent.error ?? new HelexaError("neuron_lost", "the peer connection is closed");
      }
      throw new HelexaError("internal", "the peer is not open yet: await peer.opened before sending");
    }
    if (message.length * 3 > this.#maxMessageSize) {
      const size = Buffer.byteLength(message, "utf8");
      if (size > this.#maxMessageSize) {
        throw new HelexaError(
          "invalid_request",
          `message of ${size} bytes is over the limit of ${this.#maxMessageSize} bytes`,
        );
      }
    }
    const frames = encodeFrames(message, { frameSize: this.#frameSize });
    try {
      for (const frame of frames) {
        if (typeof frame === "string") this.#channel.sendMessage(frame);
        else this.#channel.sendMessageBinary(frame);
      }
    } catch (error) {
      const lost = new HelexaError("neuron_lost", `the data channel refused a message: ${messageOf(error)}`, {
        cause: error,
      });
      this.#fail("failed", lost);
      throw lost;
    }
    this.#messagesSent += 1;
    return this.#channel.bufferedAmount() <= this.#highWaterMark;
  }

  drain(): Promise<void> {
    if (this.#closeEvent !== null) {
      return Promise.reject(
        this.#closeEvent.error ?? new HelexaError("neuron_lost", "the peer connection is closed"),
      );
    }
    if (this.bufferedAmount <= this.#lowWaterMark) return Promise.resolve();
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  onMessage(handler: (message: string) => void): () => void {
    this.#messageHandlers.add(handler);
    if (this.#unclaimedMessages.length > 0) {
      const backlog = this.#unclaimedMessages;
      this.#unclaimedMessages = [];
      // Later than the caller's own setup, and ahead of any native event, so order is kept.
      queueMicrotask(() => {
        for (const message of backlog) this.#dispatch(message);
      });
    }
    return () => this.#messageHandlers.delete(handler);
  }

  onClose(handler: (event: PeerCloseEvent) => void): () => void {
    const event = this.#closeEvent;
    if (event !== null) {
      queueMicrotask(() => handler(event));
      return () => {};
    }
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  close(): void {
    this.#finish({ reason: "local", error: null });
  }

  stats(): PeerStats {
    if (this.#frozenStats !== null) return { ...this.#frozenStats };
    let bytesSent = 0;
    let bytesReceived = 0;
    let roundTripTimeMs: number | null = null;
    let candidatePair: PeerStats["candidatePair"] = null;
    try {
      bytesSent = this.#connection.bytesSent();
      bytesReceived = this.#connection.bytesReceived();
      const rtt = this.#connection.rtt();
      roundTripTimeMs = rtt >= 0 ? rtt : null;
      const pair = this.#connection.getSelectedCandidatePair();
      if (pair) candidatePair = { local: pair.local.type, remote: pair.remote.type };
    } catch {
      // Before the transport exists the native side throws; zero is the truth then.
    }
    return {
      messagesSent: this.#messagesSent,
      messagesReceived: this.#messagesReceived,
      bytesSent,
      bytesReceived,
      roundTripTimeMs,
      candidatePair,
    };
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  get #lowWaterMark(): number {
    return Math.floor(this.#highWaterMark / 4);
  }

  #emit(signal: Signal): void {
    try {
      this.#onSignal(signal);
    } catch (error) {
      this.#fail(
        "failed",
        new HelexaError("internal", `onSignal threw: ${messageOf(error)}`, { cause: error }),
      );
    }
  }

  #handleLocalDescription(sdp: string, type: string): void {
    if (this.#state === "closed") return;
    if (type !== "offer" && type !== "answer") return;
    this.#localDescriptionSent = true;
    this.#emit({ type: "signal.description", description: { type, sdp } });
    this.#flushLocalCandidates();
  }

  #handleLocalCandidate(candidate: string, mid: string): void {
    if (this.#state === "closed") return;
    // Browsers want the attribute value alone in addIceCandidate, not the SDP line.
    const signal: SignalCandidate = {
      type: "signal.candidate",
      candidate: candidate.replace(/^a=/, ""),
      mid,
    };
    this.#pendingLocalCandidates.push(signal);
    this.#flushLocalCandidates();
  }

  /**
   * The offerer holds its candidates until the answer is applied: otherwise the answerer can reach it
   * and start DTLS before the offerer knows the answerer's certificate fingerprint, and libdatachannel
   * then fails the handshake with "unknown CA" (~3% of handshakes when measured; upstream
   * paullouisageneau/libdatachannel#1612). The answerer holds its own only behind its answer.
   */
  #flushLocalCandidates(): void {
    if (!this.#localDescriptionSent) return;
    if (this.role === "offerer" && !this.#remoteDescriptionApplied) return;
    const candidates = this.#pendingLocalCandidates;
    this.#pendingLocalCandidates = [];
    for (const candidate of candidates) {
      if (this.#state === "closed") return;
      this.#emit(candidate);
    }
  }

  #applyRemoteDescription(signal: SignalDescription): void {
    const expected = this.role === "offerer" ? "answer" : "offer";
    if (this.#remoteDescriptionApplied) {
      this.#fail(
        "failed",
        new HelexaError("protocol_violation", "a second remote description: renegotiation is not supported"),
      );
      return;
    }
    if (signal.description.type !== expected) {
      this.#fail(
        "failed",
        new HelexaError(
          "protocol_violation",
          `the ${this.role} expects an ${expected}, got an ${signal.description.type}`,
        ),
      );
      return;
    }
    try {
      this.#connection.setRemoteDescription(signal.description.sdp, signal.description.type);
    } catch (error) {
      this.#fail(
        "failed",
        new HelexaError("protocol_violation", `remote ${expected} rejected: ${messageOf(error)}`, {
          cause: error,
        }),
      );
      return;
    }
    this.#remoteDescriptionApplied = true;
    const queued = this.#pendingRemoteCandidates;
    this.#pendingRemoteCandidates = [];
    for (const candidate of queued) this.#addRemoteCandidate(candidate);
    this.#flushLocalCandidates();
  }

  #applyRemoteCandidate(signal: SignalCandidate): void {
    // An empty candidate is the browser's end-of-candidates marker; libdatachannel needs none.
    if (signal.candidate.trim() === "") return;
    if (this.#remoteDescriptionApplied) {
      this.#addRemoteCandidate(signal);
      return;
    }
    if (this.#pendingRemoteCandidates.length >= MAX_QUEUED_REMOTE_CANDIDATES) {
      this.#fail(
        "failed",
        new HelexaError("protocol_violation", "too many candidates before the remote description"),
      );
      return;
    }
    this.#pendingRemoteCandidates.push(signal);
  }

  #addRemoteCandidate(signal: SignalCandidate): void {
    try {
      this.#connection.addRemoteCandidate(signal.candidate, signal.mid);
      this.#remoteCandidatesApplied += 1;
    } catch (error) {
      // One unusable candidate (an mDNS name we cannot resolve, say) must not end a connection that
      // another candidate can carry; it is reported if the connection never opens.
      this.#lastCandidateError = `${signal.candidate.slice(0, 120)}: ${messageOf(error)}`;
    }
  }

  #acceptChannel(channel: DataChannel): void {
    if (this.#state === "closed" || this.#channel !== null || channel.getLabel() !== CHANNEL_LABEL) {
      channel.close();
      return;
    }
    this.#attachChannel(channel);
    // The answerer's channel usually arrives already open, and then fires no open event.
    if (channel.isOpen()) this.#markOpen();
  }

  #attachChannel(channel: DataChannel): void {
    this.#channel = channel;
    channel.setBufferedAmountLowThreshold(this.#lowWaterMark);
    channel.onOpen(() => this.#markOpen());
    channel.onMessage((frame) => this.#handleFrame(frame));
    channel.onBufferedAmountLow(() => this.#releaseDrainWaiters());
    channel.onError((error) =>
      this.#fail("failed", new HelexaError("neuron_lost", `data channel error: ${error}`)),
    );
    channel.onClosed(() =>
      this.#fail("remote", new HelexaError("neuron_lost", "the data channel was closed by the other side")),
    );
  }

  #markOpen(): void {
    if (this.#state !== "connecting" || this.#channel === null) return;
    this.#state = "open";
    clearTimeout(this.#openTimer);
    this.#frameSize = Math.min(this.#channel.maxMessageSize(), MAX_FRAME_SIZE);
    this.#resolveOpened();
  }

  #handleFrame(frame: string | Buffer | ArrayBuffer): void {
    if (this.#state === "closed") return;
    let message: string | null;
    try {
      message = this.#decoder.decode(frame instanceof ArrayBuffer ? new Uint8Array(frame) : frame);
    } catch (error) {
      this.#fail(
        "failed",
        HelexaError.is(error) ? error : new HelexaError("protocol_violation", messageOf(error)),
      );
      return;
    }
    if (message === null) return;
    this.#messagesReceived += 1;
    if (this.#messageHandlers.size === 0) this.#unclaimedMessages.push(message);
    else this.#dispatch(message);
  }

  #dispatch(message: string): void {
    for (const handler of this.#messageHandlers) handler(message);
  }

  #releaseDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  #handleConnectionState(state: string): void {
    if (this.#state === "closed") return;
    // A clean close on the other side reaches us as "disconnected" (DTLS close_notify), often before
    // the channel's own close event; libdatachannel never comes back from it.
    if (state === "disconnected" || state === "closed") {
      this.#fail("remote", new HelexaError("neuron_lost", "the other side closed the WebRTC connection"));
    } else if (state === "failed") {
      this.#fail(
        "failed",
        new HelexaError("neuron_lost", `the WebRTC connection failed (${this.#describe()})`),
      );
    }
  }

  #handleOpenTimeout(): void {
    if (this.#state !== "connecting") return;
    this.#fail(
      "timeout",
      new HelexaError(
        "timeout",
        `the WebRTC ${this.role} did not open within ${this.#openTimeoutMs} ms (${this.#describe()})`,
      ),
    );
  }

  /** What an operator needs to tell a signalling problem from a network one. */
  #describe(): string {
    const parts = [
      this.#remoteDescriptionApplied ? "remote description applied" : "no remote description received",
      `${this.#remoteCandidatesApplied} remote candidates applied`,
    ];
    if (this.#pendingRemoteCandidates.length > 0)
      parts.push(`${this.#pendingRemoteCandidates.length} waiting`);
    try {
      parts.push(`ice ${this.#connection.iceState()}`, `connection ${this.#connection.state()}`);
    } catch {
      // Already torn down natively: the states add nothing then.
    }
    if (this.#lastCandidateError !== null) parts.push(`last rejected candidate ${this.#lastCandidateError}`);
    return parts.join(", ");
  }

  #fail(reason: Exclude<PeerCloseReason, "local">, error: HelexaError): void {
    this.#finish({ reason, error });
  }

  #finish(event: PeerCloseEvent): void {
    if (this.#state === "closed") return;
    this.#frozenStats = this.stats();
    this.#state = "closed";
    this.#closeEvent = event;
    clearTimeout(this.#openTimer);
    // Both halves must be closed here even when the other side closed first: each native callback
    // holds the event loop open until its object is closed, so a half-closed peer keeps a process alive.
    try {
      this.#channel?.close();
    } catch {
      // Closing twice, or after the connection went, is fine.
    }
    try {
      this.#connection.close();
    } catch {
      // As above.
    }
    livePeers.delete(this);
    const error = event.error ?? new HelexaError("neuron_lost", "the peer was closed before it opened");
    this.#rejectOpened(error);
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters)
      waiter.reject(event.error ?? new HelexaError("neuron_lost", "the peer was closed"));
    const handlers = [...this.#closeHandlers];
    this.#closeHandlers.clear();
    this.#messageHandlers.clear();
    for (const handler of handlers) handler(event);
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new HelexaError("invalid_request", `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65_535;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

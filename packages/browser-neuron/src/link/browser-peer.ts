// SPDX-License-Identifier: PolyForm-Shield-1.0
// A browser tab's WebRTC peer to cortex: it offers one reliable, ordered data channel and frames messages as @helexa/mesh does.

import { createFrameDecoder, encodeFrames, utf8ByteLength } from "@helexa/mesh/framing";
import { HelexaError, type IceServer, type SignalCandidate, type SignalDescription } from "@helexa/protocol";

/** The data channel's label, as cortex expects it (`CHANNEL_LABEL` in @helexa/mesh). */
const channelLabel = "helexa";
/** Chromium's own limit, and the largest fragment @helexa/mesh sends. */
const maxFrameSize = 256 * 1024;
const maxQueuedRemoteCandidates = 256;

export type BrowserSignal = SignalDescription | SignalCandidate;

export interface BrowserPeerOptions {
  /** Called with each signal for cortex, which the link relays over its WebSocket. */
  onSignal: (signal: BrowserSignal) => void;
  /** From cortex's welcome; an empty list means no STUN or TURN traffic at all. */
  iceServers: IceServer[];
  /** How long `opened` waits before rejecting with a `timeout` HelexaError (default 15 s). */
  openTimeoutMs?: number;
  /** The largest whole message sent or accepted, in UTF-8 bytes (default 16 MiB, as cortex's). */
  maxMessageSize?: number;
  /** Above this many buffered bytes `send` returns false; `drain` waits until a quarter of it. */
  highWaterMark?: number;
}

export interface BrowserPeerCloseEvent {
  reason: "local" | "remote" | "failed" | "timeout";
  error: HelexaError | null;
}

/** The browser's side of @helexa/mesh's `Peer`: the same framing, backpressure and close semantics. */
export interface BrowserPeer {
  readonly opened: Promise<void>;
  readonly state: "connecting" | "open" | "closed";
  readonly bufferedAmount: number;
  handleSignal(signal: BrowserSignal): void;
  /** Queues a message; false once over the high-water mark (await `drain()` before the next). */
  send(message: string): boolean;
  drain(): Promise<void>;
  onMessage(handler: (message: string) => void): () => void;
  onClose(handler: (event: BrowserPeerCloseEvent) => void): () => void;
  close(): void;
}

/**
 * The tab offers, as a native neuron does, and cortex answers. The offer goes out as soon as it is made;
 * the tab's own candidates wait until cortex's answer is applied (libdatachannel can otherwise start
 * DTLS before it knows the fingerprint), and cortex's candidates wait until the answer is set. On a
 * loopback-only machine Chromium gathers no candidates of its own and connects peer-reflexive to
 * cortex's, which needs nothing rewritten.
 */
export function createBrowserPeer(options: BrowserPeerOptions): BrowserPeer {
  const maxMessageSize = options.maxMessageSize ?? 16 * 1024 * 1024;
  const highWaterMark = options.highWaterMark ?? 1024 * 1024;
  const lowWaterMark = Math.floor(highWaterMark / 4);
  const connection = new RTCPeerConnection({
    iceServers: options.iceServers.map((server) => ({
      urls: server.urls,
      ...(server.username !== undefined ? { username: server.username } : {}),
      ...(server.credential !== undefined ? { credential: server.credential } : {}),
    })),
  });
  const channel = connection.createDataChannel(channelLabel, { ordered: true });
  channel.binaryType = "arraybuffer";
  channel.bufferedAmountLowThreshold = lowWaterMark;
  const decoder = createFrameDecoder({ maxMessageSize });

  let state: BrowserPeer["state"] = "connecting";
  let closeEvent: BrowserPeerCloseEvent | null = null;
  let answerReceived = false;
  let remoteDescriptionApplied = false;
  let localCandidates: SignalCandidate[] = [];
  let remoteCandidates: SignalCandidate[] = [];
  let frameSize = 64 * 1024;
  const messageHandlers = new Set<(message: string) => void>();
  let unclaimed: string[] = [];
  const closeHandlers = new Set<(event: BrowserPeerCloseEvent) => void>();
  let drainWaiters: Array<{ resolve: () => void; reject: (error: HelexaError) => void }> = [];

  let resolveOpened!: () => void;
  let rejectOpened!: (error: HelexaError) => void;
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  opened.catch(() => {});
  const openTimeoutMs = options.openTimeoutMs ?? 15_000;
  const openTimer = setTimeout(() => {
    if (state === "connecting") {
      finish({
        reason: "timeout",
        error: new HelexaError(
          "timeout",
          `the data channel to cortex did not open within ${openTimeoutMs} ms (ice ${connection.iceConnectionState}, ${
            remoteDescriptionApplied ? "answer applied" : "no answer received"
          })`,
        ),
      });
    }
  }, openTimeoutMs);

  const emit = (signal: BrowserSignal) => {
    try {
      options.onSignal(signal);
    } catch (error) {
      finish({ reason: "failed", error: new HelexaError("internal", `onSignal threw: ${String(error)}`) });
    }
  };
  const flushLocalCandidates = () => {
    if (!remoteDescriptionApplied) return;
    const candidates = localCandidates;
    localCandidates = [];
    for (const candidate of candidates) emit(candidate);
  };

  connection.addEventListener("icecandidate", (event) => {
    // A null or empty candidate ends gathering; cortex needs no marker.
    if (state === "closed" || !event.candidate?.candidate) return;
    localCandidates.push({
      type: "signal.candidate",
      candidate: event.candidate.candidate,
      mid: event.candidate.sdpMid ?? "0",
    });
    flushLocalCandidates();
  });
  connection.addEventListener("connectionstatechange", () => {
    // "disconnected" may recover in a browser; "failed" and "closed" do not.
    if (connection.connectionState === "failed") {
      finish({
        reason: "failed",
        error: new HelexaError("neuron_lost", "the WebRTC connection to cortex failed"),
      });
    } else if (connection.connectionState === "closed") {
      finish({
        reason: "remote",
        error: new HelexaError("neuron_lost", "the WebRTC connection to cortex closed"),
      });
    }
  });
  channel.addEventListener("open", () => {
    if (state !== "connecting") return;
    state = "open";
    clearTimeout(openTimer);
    frameSize = Math.min(connection.sctp?.maxMessageSize || maxFrameSize, maxFrameSize);
    resolveOpened();
  });
  channel.addEventListener("message", (event: MessageEvent<string | ArrayBuffer>) => {
    if (state === "closed") return;
    let message: string | null;
    try {
      message = decoder.decode(typeof event.data === "string" ? event.data : new Uint8Array(event.data));
    } catch (error) {
      finish({
        reason: "failed",
        error: HelexaError.is(error) ? error : new HelexaError("protocol_violation", String(error)),
      });
      return;
    }
    if (message === null) return;
    if (messageHandlers.size === 0) unclaimed.push(message);
    else for (const handler of messageHandlers) handler(message);
  });
  channel.addEventListener("bufferedamountlow", () => {
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  });
  channel.addEventListener("close", () =>
    finish({ reason: "remote", error: new HelexaError("neuron_lost", "cortex closed the data channel") }),
  );

  void (async () => {
    try {
      await connection.setLocalDescription(await connection.createOffer());
      const offer = connection.localDescription;
      if (!offer || closeEvent !== null) return;
      emit({ type: "signal.description", description: { type: "offer", sdp: offer.sdp } });
    } catch (error) {
      finish({
        reason: "failed",
        error: new HelexaError("internal", `could not make a WebRTC offer: ${String(error)}`),
      });
    }
  })();

  function addRemoteCandidate(signal: SignalCandidate): void {
    // One unusable candidate must not end a connection another one can carry.
    connection.addIceCandidate({ candidate: signal.candidate, sdpMid: signal.mid }).catch(() => {});
  }

  function finish(event: BrowserPeerCloseEvent): void {
    if (state === "closed") return;
    state = "closed";
    closeEvent = event;
    clearTimeout(openTimer);
    try {
      channel.close();
      connection.close();
    } catch {
      // Already closed.
    }
    rejectOpened(event.error ?? new HelexaError("neuron_lost", "the peer was closed before it opened"));
    for (const waiter of drainWaiters.splice(0))
      waiter.reject(event.error ?? new HelexaError("neuron_lost", "the peer was closed"));
    const handlers = [...closeHandlers];
    closeHandlers.clear();
    messageHandlers.clear();
    for (const handler of handlers) handler(event);
  }

  return {
    opened,
    get state() {
      return state;
    },
    get bufferedAmount() {
      return state === "open" ? channel.bufferedAmount : 0;
    },
    handleSignal(signal) {
      if (state === "closed") return;
      if (signal.type === "signal.candidate") {
        if (signal.candidate.trim() === "") return;
        if (remoteDescriptionApplied) addRemoteCandidate(signal);
        else if (remoteCandidates.length < maxQueuedRemoteCandidates) remoteCandidates.push(signal);
        else
          finish({
            reason: "failed",
            error: new HelexaError("protocol_violation", "too many candidates before cortex's answer"),
          });
        return;
      }
      if (signal.description.type !== "answer" || answerReceived) {
        finish({
          reason: "failed",
          error: new HelexaError("protocol_violation", "cortex sent a description other than one answer"),
        });
        return;
      }
      answerReceived = true;
      connection.setRemoteDescription({ type: "answer", sdp: signal.description.sdp }).then(
        () => {
          remoteDescriptionApplied = true;
          const queued = remoteCandidates;
          remoteCandidates = [];
          for (const candidate of queued) addRemoteCandidate(candidate);
          flushLocalCandidates();
        },
        (error: unknown) =>
          finish({
            reason: "failed",
            error: new HelexaError("protocol_violation", `cortex's answer was refused: ${String(error)}`),
          }),
      );
    },
    send(message) {
      if (state !== "open") {
        throw closeEvent?.error ?? new HelexaError("internal", "the data channel is not open yet");
      }
      if (message.length * 3 > maxMessageSize && utf8ByteLength(message) > maxMessageSize) {
        throw new HelexaError("invalid_request", `a message over the limit of ${maxMessageSize} bytes`);
      }
      try {
        for (const frame of encodeFrames(message, { frameSize })) {
          if (typeof frame === "string") channel.send(frame);
          else channel.send(frame as Uint8Array<ArrayBuffer>);
        }
      } catch (error) {
        const lost = new HelexaError("neuron_lost", `the data channel refused a message: ${String(error)}`);
        finish({ reason: "failed", error: lost });
        throw lost;
      }
      return channel.bufferedAmount <= highWaterMark;
    },
    drain() {
      if (closeEvent)
        return Promise.reject(closeEvent.error ?? new HelexaError("neuron_lost", "the peer is closed"));
      if (channel.bufferedAmount <= lowWaterMark) return Promise.resolve();
      return new Promise((resolve, reject) => drainWaiters.push({ resolve, reject }));
    },
    onMessage(handler) {
      messageHandlers.add(handler);
      if (unclaimed.length > 0) {
        const backlog = unclaimed;
        unclaimed = [];
        queueMicrotask(() => {
          for (const message of backlog) handler(message);
        });
      }
      return () => messageHandlers.delete(handler);
    },
    onClose(handler) {
      const event = closeEvent;
      if (event) {
        queueMicrotask(() => handler(event));
        return () => {};
      }
      closeHandlers.add(handler);
      return () => closeHandlers.delete(handler);
    },
    close() {
      finish({ reason: "local", error: null });
    },
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the WebRTC peer: handshake, ordering, large messages, backpressure, closing and timeouts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { browserCandidates, chromiumOffer, firefoxOffer } from "./__fixtures__/browser-offers.js";
import { createPeer, type Peer, type PeerCloseEvent, type Signal } from "./peer.js";
import { requireLoopbackOnly } from "./testing/loopback-only.js";
import { createPeerPair } from "./testing/peer-pair.js";

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function nextClose(peer: Peer): Promise<PeerCloseEvent> {
  return new Promise((resolve) => peer.onClose(resolve));
}

function collect(peer: Peer, count: number): Promise<string[]> {
  const messages: string[] = [];
  return new Promise((resolve) => {
    peer.onMessage((message) => {
      messages.push(message);
      if (messages.length === count) resolve(messages);
    });
  });
}

/** Sends everything, waiting for the buffer whenever send says it is full. */
async function sendAll(peer: Peer, messages: Iterable<string>): Promise<void> {
  for (const message of messages) {
    if (!peer.send(message)) await peer.drain();
  }
}

function numbered(count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${index}`);
}

function hasCode(code: string, pattern: RegExp = /./) {
  return (error: unknown) => HelexaError.is(error) && error.code === code && pattern.test(error.message);
}

test("two peers connect through a relay that serialises and validates every signal, and talk both ways", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair();
  await within(pair.opened, 5000, "open");
  assert.equal(pair.offerer.state, "open");
  assert.equal(pair.answerer.state, "open");
  // The offerer's first signal is its offer, and it sends no candidate before the answer is back.
  const toAnswerer = pair.deliveries.filter((delivery) => delivery.to === "answerer");
  assert.equal(toAnswerer[0]?.signal.type, "signal.description");
  assert.ok(toAnswerer.some((delivery) => delivery.signal.type === "signal.candidate"));

  pair.offerer.send(JSON.stringify({ type: "job.start", id: "a" }));
  pair.answerer.send("from cortex");
  // Registered late on purpose: what arrived before a handler is kept for it.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const [atAnswerer, atOfferer] = await within(
    Promise.all([collect(pair.answerer, 1), collect(pair.offerer, 1)]),
    2000,
    "messages",
  );
  assert.deepEqual(atAnswerer, ['{"type":"job.start","id":"a"}']);
  assert.deepEqual(atOfferer, ["from cortex"]);
  const stats = pair.offerer.stats();
  assert.equal(stats.messagesSent, 1);
  assert.equal(stats.messagesReceived, 1);
  assert.ok(stats.bytesSent >= 29 && stats.bytesReceived >= 11, JSON.stringify(stats));
});

test("10,000 messages each way arrive in order while both sides send at once", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair();
  await within(pair.opened, 5000, "open");
  const count = 10_000;
  const upstream = numbered(count, "token ");
  const downstream = numbered(count, "job ");
  const received = Promise.all([collect(pair.answerer, count), collect(pair.offerer, count)]);
  await Promise.all([sendAll(pair.offerer, upstream), sendAll(pair.answerer, downstream)]);
  const [atAnswerer, atOfferer] = await within(received, 20_000, "10,000 messages");
  assert.deepEqual(atAnswerer, upstream);
  assert.deepEqual(atOfferer, downstream);
});

test("a 64 KiB message goes whole; a 1 MiB one is split and reassembled in order with its neighbours", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair();
  await within(pair.opened, 5000, "open");
  const medium = "m".repeat(64 * 1024);
  // 8 bytes a unit, so fragment boundaries fall inside multibyte characters.
  const large = "a€😀".repeat(128 * 1024);
  const expected = ["before", medium, large, "after", large];
  const received = collect(pair.answerer, expected.length);
  await sendAll(pair.offerer, expected);
  const messages = await within(received, 10_000, "large messages");
  assert.equal(messages.length, expected.length);
  for (const [index, message] of messages.entries()) {
    assert.ok(message === expected[index], `message ${index} differs`);
  }
});

test("a message over maxMessageSize is refused on send, and ends the connection when received", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair({
    offerer: { maxMessageSize: 300_000 },
    answerer: { maxMessageSize: 100_000 },
  });
  await within(pair.opened, 5000, "open");
  assert.throws(
    () => pair.offerer.send("x".repeat(300_001)),
    hasCode("invalid_request", /300001 bytes.*300000/),
  );
  assert.equal(pair.offerer.state, "open", "refusing to send does not end the connection");

  const answererClosed = nextClose(pair.answerer);
  const offererClosed = nextClose(pair.offerer);
  pair.offerer.send("y".repeat(200_000));
  const atAnswerer = await within(answererClosed, 2000, "answerer close");
  assert.equal(atAnswerer.reason, "failed");
  assert.ok(
    hasCode("protocol_violation", /over the limit of 100000 bytes/)(atAnswerer.error),
    atAnswerer.error?.message,
  );
  assert.equal((await within(offererClosed, 2000, "offerer close")).reason, "remote");
});

test("closing one side fires onClose once on both, quickly, and later sends fail clearly", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  let offerer: Peer;
  const events: PeerCloseEvent[] = [];
  const closedAt: number[] = [];
  {
    await using pair = createPeerPair();
    offerer = pair.offerer;
    await within(pair.opened, 5000, "open");
    pair.answerer.onClose((event) => {
      events.push(event);
      closedAt.push(performance.now());
    });
    const remoteClosed = nextClose(pair.answerer);
    const startedAt = performance.now();
    pair.offerer.close();
    pair.offerer.close();
    const event = await within(remoteClosed, 1000, "remote onClose");
    t.diagnostic(`remote side saw the close after ${(closedAt[0]! - startedAt).toFixed(1)} ms`);
    assert.equal(event.reason, "remote");
    assert.ok(hasCode("neuron_lost")(event.error));
    assert.throws(() => pair.answerer.send("late"), hasCode("neuron_lost"));
    await assert.rejects(pair.answerer.drain(), hasCode("neuron_lost"));
    assert.throws(() => pair.offerer.send("late"), hasCode("neuron_lost", /closed/));
    // A signal after the close is ignored, not an error.
    pair.answerer.handleSignal({
      type: "signal.candidate",
      candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host",
      mid: "0",
    });
  }
  // Leaving the block disposed of the pair; onClose still fires exactly once, and late handlers get it too.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(events.length, 1);
  assert.equal(offerer.state, "closed");
  const late = await within(nextClose(offerer), 100, "late onClose");
  assert.deepEqual(late, { reason: "local", error: null });
});

test("when signals are lost, opened rejects after the timeout with a clear error", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair({ shared: { openTimeoutMs: 300 }, relay: { drop: () => true } });
  const closed = nextClose(pair.offerer);
  await assert.rejects(
    within(pair.offerer.opened, 2000, "offerer timeout"),
    hasCode("timeout", /offerer did not open within 300 ms \(no remote description received/),
  );
  await assert.rejects(pair.answerer.opened, hasCode("timeout", /answerer did not open within 300 ms/));
  const event = await closed;
  assert.equal(event.reason, "timeout");
  assert.equal(pair.offerer.state, "closed");
});

test("candidates that arrive before the description are queued, not lost", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair({ relay: { descriptionDelayMs: 60 } });
  await within(pair.opened, 5000, "open");
  const toOfferer = pair.deliveries.filter((delivery) => delivery.to === "offerer");
  assert.equal(toOfferer[0]?.signal.type, "signal.candidate", "the relay delivered a candidate first");
});

test("ICE binds to the given address and port range", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  await using pair = createPeerPair({
    shared: { bindAddress: "127.0.0.1", portRange: { begin: 42_000, end: 42_009 } },
  });
  await within(pair.opened, 5000, "open");
  const candidates = pair.deliveries.flatMap(({ signal }) =>
    signal.type === "signal.candidate" ? [signal] : [],
  );
  assert.ok(candidates.length >= 2);
  for (const { candidate } of candidates) {
    const [, , , , address, port] = candidate.split(" ");
    assert.equal(address, "127.0.0.1", candidate);
    assert.ok(Number(port) >= 42_000 && Number(port) <= 42_009, candidate);
    assert.ok(candidate.startsWith("candidate:"), "sent as a browser expects it, without a=");
  }
});

test("send reports a full buffer and drain waits until it empties", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  const highWaterMark = 256 * 1024;
  await using pair = createPeerPair({ offerer: { highWaterMark } });
  await within(pair.opened, 5000, "open");
  const chunk = "z".repeat(32 * 1024);
  let sent = 0;
  let accepted = true;
  while (accepted && sent < 4000) {
    accepted = pair.offerer.send(chunk);
    sent += 1;
  }
  assert.equal(accepted, false, "128 MiB went out without the buffer filling");
  assert.ok(pair.offerer.bufferedAmount > highWaterMark);
  const received = collect(pair.answerer, sent);
  await within(pair.offerer.drain(), 10_000, "drain");
  assert.ok(pair.offerer.bufferedAmount <= highWaterMark / 4, String(pair.offerer.bufferedAmount));
  assert.equal((await within(received, 20_000, "buffered messages")).length, sent);
});

test("100 handshakes in a row all open", async (t) => {
  if (!requireLoopbackOnly(t)) return;
  const durations: number[] = [];
  const failures: string[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const startedAt = performance.now();
    await using pair = createPeerPair({ shared: { openTimeoutMs: 5000 } });
    try {
      await pair.opened;
      const echoed = collect(pair.answerer, 1);
      pair.offerer.send(`ping ${attempt}`);
      assert.deepEqual(await within(echoed, 2000, "ping"), [`ping ${attempt}`]);
      durations.push(performance.now() - startedAt);
    } catch (error) {
      failures.push(`#${attempt}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  durations.sort((left, right) => left - right);
  t.diagnostic(
    `handshake p50 ${durations[Math.floor(durations.length / 2)]?.toFixed(1)} ms, max ${durations.at(-1)?.toFixed(1)} ms, ${durations.filter((duration) => duration > 500).length} over 500 ms (libdatachannel's DTLS retransmit)`,
  );
  assert.deepEqual(failures, []);
});

test("the answerer answers Chromium's and Firefox's data-channel offers", async () => {
  for (const [browser, offer] of [
    ["chromium", chromiumOffer],
    ["firefox", firefoxOffer],
  ] as const) {
    const signals: Signal[] = [];
    using peer = createPeer({
      role: "answerer",
      bindAddress: "127.0.0.1",
      onSignal: (signal) => signals.push(signal),
    });
    peer.handleSignal({ type: "signal.description", description: { type: "offer", sdp: offer } });
    const answerSent = () => signals.some((signal) => signal.type === "signal.description");
    for (let waited = 0; !answerSent() && waited < 2000; waited += 10) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const answer = signals.find((signal) => signal.type === "signal.description");
    assert.ok(answer?.type === "signal.description", `${browser}: no answer`);
    assert.equal(answer.description.type, "answer");
    const sdp = answer.description.sdp;
    assert.match(sdp, /^m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel/m, browser);
    assert.match(sdp, /^a=mid:0\r?$/m, browser);
    assert.match(sdp, /^a=setup:(active|passive)\r?$/m, browser);
    assert.match(sdp, /^a=sctp-port:\d+\r?$/m, browser);
    assert.match(sdp, /^a=fingerprint:sha-256 [0-9A-F:]+\r?$/m, browser);
    assert.equal(peer.state, "connecting", `${browser}: the offer was accepted`);
  }
});

test("the answerer takes a browser's candidates: host, mDNS and end-of-candidates", async (t) => {
  // Taking candidates sends connectivity checks, so only where nothing but loopback exists.
  if (!requireLoopbackOnly(t)) return;
  using peer = createPeer({
    role: "answerer",
    bindAddress: "127.0.0.1",
    openTimeoutMs: 200,
    onSignal: () => {},
  });
  peer.handleSignal({ type: "signal.description", description: { type: "offer", sdp: chromiumOffer } });
  for (const candidate of browserCandidates) peer.handleSignal({ type: "signal.candidate", ...candidate });
  // Nobody is there, so it times out; but the host candidate was applied and nothing else broke the peer.
  await assert.rejects(
    peer.opened,
    hasCode("timeout", /remote description applied, [12] remote candidates applied/),
  );
});

test("a description of the wrong kind closes the peer with a protocol violation", async () => {
  using peer = createPeer({ role: "offerer", bindAddress: "127.0.0.1", onSignal: () => {} });
  const closed = nextClose(peer);
  peer.handleSignal({ type: "signal.description", description: { type: "offer", sdp: chromiumOffer } });
  const event = await within(closed, 1000, "close");
  assert.equal(event.reason, "failed");
  assert.ok(hasCode("protocol_violation", /offerer expects an answer, got an offer/)(event.error));
  await assert.rejects(peer.opened, hasCode("protocol_violation"));

  using answerer = createPeer({ role: "answerer", bindAddress: "127.0.0.1", onSignal: () => {} });
  answerer.handleSignal({
    type: "signal.description",
    description: { type: "offer", sdp: "v=0\r\nnot sdp" },
  });
  await assert.rejects(answerer.opened, hasCode("protocol_violation", /remote offer rejected/));
});

test("bad options are refused before anything native is made", () => {
  const base = { role: "offerer", onSignal: () => {} } as const;
  assert.throws(() => createPeer({ ...base, openTimeoutMs: 0 }), hasCode("invalid_request", /openTimeoutMs/));
  assert.throws(
    () => createPeer({ ...base, maxMessageSize: 1.5 }),
    hasCode("invalid_request", /maxMessageSize/),
  );
  assert.throws(
    () => createPeer({ ...base, portRange: { begin: 5001, end: 5000 } }),
    hasCode("invalid_request", /portRange/),
  );
  assert.throws(
    () => createPeer({ ...base, iceServers: [{ urls: "turn:x" }] }),
    hasCode("invalid_request", /TURN/),
  );
});

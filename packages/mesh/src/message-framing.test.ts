// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for splitting large messages into binary fragments and putting them back together.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { createFrameDecoder, encodeFrames, utf8ByteLength } from "./message-framing.js";

function isProtocolViolation(pattern: RegExp) {
  return (error: unknown) =>
    HelexaError.is(error) && error.code === "protocol_violation" && pattern.test(error.message);
}

test("a message that fits goes as one text frame, untouched", () => {
  const message = JSON.stringify({ type: "job.delta", text: "héllo 😀" });
  assert.deepEqual(encodeFrames(message, { frameSize: 1024 }), [message]);
  // 100 euro signs are 300 bytes: the byte count decides, not the length.
  assert.deepEqual(encodeFrames("€".repeat(100), { frameSize: 300 }), ["€".repeat(100)]);
  assert.equal(encodeFrames("€".repeat(101), { frameSize: 300 }).length, 2);
});

test("a large message splits into flagged fragments that reassemble, multibyte characters cut included", () => {
  const message = "a€😀".repeat(5_000); // 8 bytes a unit, so cuts fall inside characters
  const frames = encodeFrames(message, { frameSize: 1000 });
  assert.equal(frames.length, Math.ceil(40_000 / 999));
  const decoder = createFrameDecoder({ maxMessageSize: 1_000_000 });
  const results: Array<string | null> = [];
  for (const frame of frames) {
    assert.ok(frame instanceof Uint8Array);
    assert.ok(frame.length <= 1000);
    results.push(decoder.decode(frame));
  }
  assert.deepEqual(results.slice(0, -1), new Array(frames.length - 1).fill(null));
  assert.equal(results.at(-1), message);
  // The decoder is ready for the next message at once.
  assert.equal(decoder.decode("next"), "next");
});

test("the decoder refuses a text frame between fragments, an unknown flag, and oversized messages", () => {
  const fragments = encodeFrames("x".repeat(3000), { frameSize: 1000 });
  const interleaved = createFrameDecoder({ maxMessageSize: 10_000 });
  interleaved.decode(fragments[0]!);
  assert.throws(() => interleaved.decode("{}"), isProtocolViolation(/between the fragments/));

  const unknownFlag = createFrameDecoder({ maxMessageSize: 10_000 });
  assert.throws(
    () => unknownFlag.decode(Uint8Array.of(7, 65)),
    isProtocolViolation(/unknown fragment flag 7/),
  );

  const small = createFrameDecoder({ maxMessageSize: 2_500 });
  assert.throws(
    () => {
      for (const fragment of fragments) small.decode(fragment);
    },
    isProtocolViolation(/over the limit of 2500 bytes/),
  );
  const smallText = createFrameDecoder({ maxMessageSize: 10 });
  assert.equal(smallText.decode("0123456789"), "0123456789");
  assert.throws(() => smallText.decode("€€€€"), isProtocolViolation(/12 bytes or more/));
});

test("the UTF-8 size is counted as Node counts it, lone surrogates included", () => {
  for (const text of ["", "ascii", "héllo", "€", "😀", "a€😀", "\ud800", "x\udc00y", "\ud83d"]) {
    assert.equal(utf8ByteLength(text), Buffer.byteLength(text, "utf8"), JSON.stringify(text));
  }
});

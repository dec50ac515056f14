// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests that tokens holding parts of a UTF-8 character never produce a broken character.

import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenTextDecoder } from "./token-text-decoder.js";

/** A byte-level vocabulary: token n is byte n, decoded as a tokenizer binding would (bad bytes become U+FFFD). */
const detokenize = (tokens: readonly number[]) => Buffer.from(tokens).toString("utf8");

test("a character split over tokens comes out whole, once", () => {
  const decoder = new TokenTextDecoder(detokenize);
  const bytes = [...Buffer.from("a€b😀")];
  const pieces = bytes.map((byte) => decoder.push(byte));
  pieces.push(decoder.flush());
  assert.deepEqual(
    pieces.filter((piece) => piece !== ""),
    ["a", "€", "b", "😀"],
  );
});

test("a truly invalid byte is sent as U+FFFD after a bounded wait instead of stalling the stream", () => {
  const decoder = new TokenTextDecoder(detokenize);
  assert.deepEqual(
    [0xe2, 0x41].map((byte) => decoder.push(byte)),
    ["", "\uFFFDA"],
    "held only until the next byte shows it cannot complete",
  );
  const stuck = new TokenTextDecoder(detokenize);
  const pieces = [0xf0, 0xf0, 0xf0, 0xf0, 0x42].map((byte) => stuck.push(byte));
  assert.deepEqual(pieces, ["", "", "", "\uFFFD\uFFFD\uFFFD\uFFFD", "B"]);
});

test("flush sends an incomplete character held at the end", () => {
  const decoder = new TokenTextDecoder(detokenize);
  assert.equal(decoder.push(0xf0), "");
  assert.equal(decoder.flush(), "\uFFFD");
  assert.equal(decoder.flush(), "");
});

test("the tokens already sent are passed as context for the next", () => {
  const seen: number[][] = [];
  const decoder = new TokenTextDecoder<number>((tokens, previous) => {
    seen.push([...previous]);
    return detokenize(tokens);
  });
  decoder.push(0x61);
  decoder.push(0x62);
  assert.deepEqual(seen, [[], [0x61]]);
});

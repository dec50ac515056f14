// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of cutting streamed text at token boundaries.

import assert from "node:assert/strict";
import { test } from "node:test";
import { StopSequenceFilter } from "./llama-cpp/stop-sequence-filter.js";
import { TokenAlignedText } from "./token-aligned-text.js";

/** Streams groups of (token ids, text) through a stop filter, as a runtime does; returns what it sends. */
function stream(groups: Array<[number[], string]>, stops: string[]) {
  const aligned = new TokenAlignedText();
  const filter = new StopSequenceFilter(stops);
  const sent: Array<{ text: string; tokens: number[] }> = [];
  let stopped = false;
  for (const [index, [tokens, text]] of groups.entries()) {
    aligned.decoded(tokens, text);
    const step = filter.push(text);
    aligned.released(step.text);
    stopped = step.stopped;
    const last = stopped || index === groups.length - 1;
    if (last && !stopped) aligned.released(filter.flush());
    const delta = last ? aligned.takeAll() : aligned.take();
    if (delta.text.length > 0) sent.push(delta);
    if (stopped) break;
  }
  return sent;
}

test("text held by the stop filter waits with its tokens, and part of a group never goes alone", () => {
  // "<" could start the stop string "<END>"; "<x" shows it does not, and the group "y<x" went out whole.
  const sent = stream(
    [
      [[1], "a"],
      [[2], "y<"],
      [[3], "x"],
      [[4], "b"],
    ],
    ["<END>"],
  );
  assert.deepEqual(sent, [
    { text: "a", tokens: [1] },
    { text: "y<x", tokens: [2, 3] },
    { text: "b", tokens: [4] },
  ]);
});

test("every prefix of deltas spells exactly its tokens' text", () => {
  const groups: Array<[number[], string]> = [
    [[10, 11], "é"],
    [[12], " <E"],
    [[13], "N"],
    [[14], "o"],
    [[15], ""],
    [[16], " done"],
  ];
  const textOf = new Map<number, string>(groups.map(([tokens, text]) => [tokens.at(-1)!, text]));
  const sent = stream(groups, ["<END>"]);
  let text = "";
  let spelled = "";
  for (const delta of sent) {
    text += delta.text;
    for (const token of delta.tokens) spelled += textOf.get(token) ?? "";
    assert.equal(spelled, text);
  }
  assert.equal(text, "é <ENo done");
});

test("a stop string ends the text before it", () => {
  const sent = stream(
    [
      [[1], "hi <E"],
      [[2], "ND> more"],
    ],
    ["<END>"],
  );
  assert.deepEqual(
    sent.map((delta) => delta.text),
    ["hi "],
  );
});

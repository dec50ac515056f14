// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for cutting streamed text at stop strings.

import assert from "node:assert/strict";
import { test } from "node:test";
import { StopSequenceFilter } from "./stop-sequence-filter.js";

function run(stops: string[], pieces: string[]): { sent: string[]; stopped: boolean } {
  const filter = new StopSequenceFilter(stops);
  const sent: string[] = [];
  for (const piece of pieces) {
    const step = filter.push(piece);
    sent.push(step.text);
    if (step.stopped) return { sent, stopped: true };
  }
  sent.push(filter.flush());
  return { sent, stopped: false };
}

test("text before a stop string is sent and the stop string is not", () => {
  assert.deepEqual(run(["END"], ["hello ", "worldEND", "more"]), {
    sent: ["hello ", "world"],
    stopped: true,
  });
});

test("a stop string split across pieces is caught, and its start is held until then", () => {
  assert.deepEqual(run(["<|im_end|>"], ["answer<|im", "_e", "nd|> tail"]), {
    sent: ["answer", "", ""],
    stopped: true,
  });
});

test("a held start that does not complete is sent once it is clearly not a stop", () => {
  assert.deepEqual(run(["stop"], ["a st", "ep"]), { sent: ["a ", "step", ""], stopped: false });
  assert.deepEqual(
    run(["stop"], ["a st"]),
    { sent: ["a ", "st"], stopped: false },
    "flush sends the held tail",
  );
});

test("the earliest of several stop strings wins", () => {
  assert.deepEqual(run(["cd", "b"], ["abcd"]), { sent: ["a"], stopped: true });
});

test("without stop strings everything passes straight through", () => {
  assert.deepEqual(run([], ["x", "y"]), { sent: ["x", "y", ""], stopped: false });
});

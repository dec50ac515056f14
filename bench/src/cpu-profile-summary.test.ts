// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for summing a CPU profile by package.

import assert from "node:assert/strict";
import { test } from "node:test";
import { summarizeCpuProfile } from "./cpu-profile-summary.js";

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url },
  children,
});

test("sums self time by npm package, workspace package, node internals and pseudo-frames", () => {
  const summary = summarizeCpuProfile({
    nodes: [
      frame(1, "(idle)", ""),
      frame(2, "parse", "file:///work/main/node_modules/zod/v4/core/parse.js"),
      frame(3, "send", "file:///work/main/packages/mesh/dist/peer.js"),
      frame(4, "write", "node:internal/streams/writable"),
      frame(5, "safeParse", "file:///work/main/node_modules/zod/v4/classic/schemas.js"),
      frame(6, "create", "file:///work/main/node_modules/@electric-sql/pglite/dist/index.js"),
      frame(7, "(garbage collector)", ""),
    ],
    samples: [1, 2, 3, 4, 5, 6, 7, 2],
    timeDeltas: [100, 10, 20, 30, 5, 40, 7, 1],
  });
  assert.deepEqual(summary, [
    { group: "(idle)", microseconds: 100 },
    { group: "@electric-sql/pglite", microseconds: 40 },
    { group: "node:internal", microseconds: 30 },
    { group: "@helexa/mesh", microseconds: 20 },
    { group: "zod", microseconds: 16 },
    { group: "(garbage collector)", microseconds: 7 },
  ]);
});

test("charges a native function to the package that called it, and the profiler to itself", () => {
  const summary = summarizeCpuProfile({
    nodes: [
      frame(1, "(root)", "", [2, 4, 5]),
      frame(2, "send", "file:///work/main/packages/mesh/dist/peer.js", [3]),
      frame(3, "", ""),
      frame(4, "dispatch", ""),
      frame(5, "writev", ""),
    ],
    samples: [3, 3, 4, 5],
    timeDeltas: [10, 5, 50, 2],
  });
  assert.deepEqual(summary, [
    { group: "(profiler)", microseconds: 50 },
    { group: "@helexa/mesh", microseconds: 15 },
    { group: "(native writev)", microseconds: 2 },
  ]);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for reading a process's CPU time per thread.

import assert from "node:assert/strict";
import { test } from "node:test";
import { ProcessCpuMeter } from "./process-cpu-meter.js";

test("counts busy work on this process's main thread", (t) => {
  const meter = new ProcessCpuMeter(process.pid);
  const before = meter.read();
  if (!before) {
    t.skip("no /proc/<pid>/task/<tid>/schedstat on this system");
    return;
  }
  const until = performance.now() + 60;
  let spins = 0;
  while (performance.now() < until) spins++;
  const after = meter.read();
  assert.ok(after && spins > 0);
  const usage = meter.between(before, after);
  // 60 ms of wall time spinning: most of it on a CPU, even on a busy machine.
  assert.ok(
    usage.main.runningNs + usage.main.waitingNs >= 50e6,
    `main thread ran ${usage.main.runningNs} ns`,
  );
  assert.ok(usage.main.runningNs > 0);
});

test("keeps the main thread apart and never goes below zero", () => {
  const meter = new ProcessCpuMeter(100);
  const usage = meter.between(
    new Map([
      [100, { runningNs: 10, waitingNs: 5 }],
      [101, { runningNs: 50, waitingNs: 0 }],
    ]),
    new Map([
      [100, { runningNs: 25, waitingNs: 7 }],
      [101, { runningNs: 40, waitingNs: 0 }],
      [102, { runningNs: 30, waitingNs: 3 }],
    ]),
  );
  assert.deepEqual(usage, {
    main: { runningNs: 15, waitingNs: 2 },
    others: { runningNs: 30, waitingNs: 3 },
  });
});

test("reads nothing for a process that does not exist", () => {
  assert.equal(new ProcessCpuMeter(2 ** 30).read(), null);
});

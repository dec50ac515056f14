// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the progress bar on a fake terminal and a fake log: redraws, throttling, 10% lines, the end lines.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createProgressBar } from "./progress-bar.js";

function fakeStream(isTTY: boolean, columns = 100) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (text: string) => writes.push(text) } };
}

const megabyte = 1_000_000;
/** What starts every redraw: back to column 0, then clear to the end of the line. */
const clearLine = "\r\u001b[K";

describe("createProgressBar on a terminal", () => {
  it("redraws one line with bar, percent, sizes, rate and ETA, at most ten times a second", () => {
    const clock = { time: 0 };
    const { writes, stream } = fakeStream(true);
    const bar = createProgressBar({ label: "qwen", stream, total: 400 * megabyte, now: () => clock.time });
    for (let step = 0; step < 10; step++) {
      clock.time = step * 10;
      bar.update({ fraction: step / 100, bytesDone: step * 4 * megabyte, bytesPerSecond: 20 * megabyte });
    }
    assert.equal(writes.length, 1, "ten updates within 100 ms draw once");
    clock.time = 150;
    bar.update({ fraction: 0.5, bytesDone: 200 * megabyte, bytesPerSecond: 20 * megabyte });
    assert.equal(writes.length, 2);
    const line = writes[1]!;
    assert.ok(line.startsWith(clearLine), "each draw returns to the start of the line and clears it");
    assert.ok(!line.includes("\n"));
    assert.match(
      line.slice(clearLine.length),
      /^qwen \[█+░+\] {2}50% {2}200\.0\/400\.0 MB {2}20\.0 MB\/s {2}ETA 0:10$/,
    );
    assert.ok(line.length - clearLine.length < 100);
  });

  it("keeps the line inside a narrow terminal", () => {
    const { writes, stream } = fakeStream(true, 40);
    const bar = createProgressBar({ label: "a-rather-long-model-name.gguf", stream, now: () => 0 });
    bar.update({
      fraction: 0.25,
      bytesDone: 100 * megabyte,
      bytesTotal: 400 * megabyte,
      bytesPerSecond: megabyte,
    });
    assert.ok(writes[0]!.length - clearLine.length <= 39);
  });

  it("shows a load without bytes as bar and percent only, and ends with one line", () => {
    const clock = { time: 0 };
    const { writes, stream } = fakeStream(true);
    const bar = createProgressBar({ label: "loading", stream, now: () => clock.time });
    bar.update({ fraction: 0.1 });
    clock.time = 1000;
    bar.update({ fraction: 0.6 });
    assert.match(writes[1]!, /loading \[█+░+\] {2}60% {2}ETA 0:01$/);
    clock.time = 2000;
    bar.done("ready");
    assert.equal(writes.at(-1), `${clearLine}loading: ready (0:02)\n`);
    bar.update({ fraction: 0.9 });
    bar.fail("late");
    assert.equal(writes.length, 3, "nothing is written after the end");
  });
});

describe("createProgressBar in a log", () => {
  it("writes one plain line at each 10% step", () => {
    const { writes, stream } = fakeStream(false);
    const bar = createProgressBar({ label: "model.gguf", stream, now: () => 0 });
    for (let percent = 0; percent <= 100; percent += 5) {
      bar.update({ fraction: percent / 100, bytesDone: percent * megabyte, bytesTotal: 100 * megabyte });
    }
    bar.done();
    assert.equal(writes.length, 12);
    assert.equal(writes[0], "model.gguf: 0% (0.0/100.0 MB)\n");
    assert.equal(writes[4], "model.gguf: 40% (40.0/100.0 MB)\n");
    assert.equal(writes[10], "model.gguf: 100% (100.0/100.0 MB)\n");
    assert.equal(writes[11], "model.gguf: done (100.0 MB in 0:00)\n");
    for (const line of writes)
      assert.ok(!line.includes("\r") && !line.includes("\u001b"), JSON.stringify(line));
  });

  it("starts a resumed download at its own step and reports a failure", () => {
    const { writes, stream } = fakeStream(false);
    const bar = createProgressBar({ label: "model.gguf", stream, now: () => 0 });
    bar.update({ fraction: 0.37 });
    bar.update({ fraction: 0.39 });
    bar.fail("could not reach huggingface.co: host name not found (ENOTFOUND)");
    assert.deepEqual(writes, [
      "model.gguf: 30%\n",
      "model.gguf: failed: could not reach huggingface.co: host name not found (ENOTFOUND)\n",
    ]);
  });

  it("without a size, logs the bytes every ten seconds", () => {
    const clock = { time: 0 };
    const { writes, stream } = fakeStream(false);
    const bar = createProgressBar({ label: "model.gguf", stream, now: () => clock.time });
    for (let second = 0; second <= 20; second++) {
      clock.time = second * 1000;
      bar.update({ fraction: null, bytesDone: second * megabyte, bytesPerSecond: megabyte });
    }
    assert.deepEqual(writes, [
      "model.gguf: 0.0 MB, 1.0 MB/s\n",
      "model.gguf: 10.0 MB, 1.0 MB/s\n",
      "model.gguf: 20.0 MB, 1.0 MB/s\n",
    ]);
  });
});

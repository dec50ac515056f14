// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the progress meter: throttling by time and by percent, the recent rate, and forced reports.

import assert from "node:assert/strict";
import { it } from "node:test";
import { createProgressMeter, type DownloadProgress } from "./progress-meter.js";

function meterAt(clock: { time: number }) {
  const reports: DownloadProgress[] = [];
  const meter = createProgressMeter({
    onProgress: (progress) => reports.push(progress),
    now: () => clock.time,
  });
  return { meter, reports };
}

it("reports at most every 100 ms unless a percent has passed", () => {
  const clock = { time: 0 };
  const { meter, reports } = meterAt(clock);
  meter.update(0, 10_000);
  clock.time = 10;
  meter.update(50, 10_000);
  clock.time = 20;
  meter.update(100, 10_000);
  clock.time = 150;
  meter.update(120, 10_000);
  assert.deepEqual(
    reports.map((report) => report.downloadedBytes),
    [0, 100, 120],
  );
});

it("measures the rate over the recent window and reports unknown totals without a fraction", () => {
  const clock = { time: 0 };
  const { meter, reports } = meterAt(clock);
  meter.update(0, null);
  for (let second = 1; second <= 10; second++) {
    clock.time = second * 1000;
    // 1 MB/s for five seconds, then 3 MB/s.
    meter.update(second <= 5 ? second * 1e6 : 5e6 + (second - 5) * 3e6, null);
  }
  const last = reports.at(-1)!;
  assert.equal(last.fraction, null);
  assert.equal(last.totalBytes, null);
  assert.ok(last.bytesPerSecond > 2.5e6, `rate ${last.bytesPerSecond}`);
});

it("always reports a forced update", () => {
  const clock = { time: 0 };
  const { meter, reports } = meterAt(clock);
  meter.update(10, 100);
  meter.update(10, 100, true);
  assert.equal(reports.length, 2);
  assert.equal(reports[1]!.fraction, 0.1);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Turns a running byte count into throttled progress reports with a recent transfer rate.

export interface DownloadProgress {
  downloadedBytes: number;
  totalBytes: number | null;
  /** From 0 to 1, null while the size is unknown. */
  fraction: number | null;
  /** Over the last few seconds, so that a stall shows quickly. */
  bytesPerSecond: number;
}

export interface ProgressMeterOptions {
  onProgress?: (progress: DownloadProgress) => void;
  now?: () => number;
}

export interface ProgressMeter {
  /** Reports when enough time or progress has passed since the last report, or always with `force`. */
  update(downloadedBytes: number, totalBytes: number | null, force?: boolean): void;
}

/** A report every 100 ms or every percent is smooth to draw and cheap for a 64 KB chunk stream. */
const reportIntervalMs = 100;
const reportFractionStep = 0.01;
const rateWindowMs = 5_000;

export function createProgressMeter(options: ProgressMeterOptions): ProgressMeter {
  const now = options.now ?? (() => performance.now());
  const samples: Array<{ time: number; bytes: number }> = [];
  let lastReportTime = Number.NEGATIVE_INFINITY;
  let lastReportFraction = Number.NEGATIVE_INFINITY;

  return {
    update(downloadedBytes, totalBytes, force = false) {
      if (!options.onProgress) return;
      const time = now();
      const fraction = totalBytes && totalBytes > 0 ? Math.min(1, downloadedBytes / totalBytes) : null;
      const due =
        force ||
        time - lastReportTime >= reportIntervalMs ||
        (fraction !== null && fraction - lastReportFraction >= reportFractionStep);
      if (!due) return;
      // A restart (a server that ignored Range) moves the count back; the rate starts over with it.
      if (samples.length > 0 && downloadedBytes < samples[samples.length - 1]!.bytes) samples.length = 0;
      samples.push({ time, bytes: downloadedBytes });
      while (samples.length > 2 && time - samples[0]!.time > rateWindowMs) samples.shift();
      const oldest = samples[0]!;
      const elapsedSeconds = (time - oldest.time) / 1000;
      const bytesPerSecond = elapsedSeconds > 0 ? (downloadedBytes - oldest.bytes) / elapsedSeconds : 0;
      lastReportTime = time;
      lastReportFraction = fraction ?? lastReportFraction;
      options.onProgress({ downloadedBytes, totalBytes, fraction, bytesPerSecond });
    },
  };
}

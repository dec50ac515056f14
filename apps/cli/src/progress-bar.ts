// SPDX-License-Identifier: PolyForm-Shield-1.0
// The terminal progress bar of downloads and model loads: one redrawn line on a TTY, a line per 10% in logs.

/** The part of a writable stream the bar needs; process.stderr is one. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  label: string;
  stream?: ProgressStream;
  /** Total bytes, for updates that do not say. */
  total?: number;
  /** A clock in milliseconds, for tests. */
  now?: () => number;
}

export interface ProgressUpdate {
  /** From 0 to 1; null while unknown (a download without a size). */
  fraction: number | null;
  bytesDone?: number;
  bytesTotal?: number | null;
  bytesPerSecond?: number;
}

export interface ProgressBar {
  update(progress: ProgressUpdate): void;
  done(message?: string): void;
  fail(message: string): void;
}

/** Ten redraws a second look smooth and cost nothing next to the work being shown. */
const redrawIntervalMs = 100;
/** Without a fraction, logs get a line this often so that a long download still shows signs of life. */
const unknownFractionLogIntervalMs = 10_000;
const barWidthRange = { min: 10, max: 30 };
const clearLine = "\r\u001b[K";

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const interactive = stream.isTTY === true;
  const startedAt = now();
  let first: { time: number; fraction: number } | null = null;
  let last: ProgressUpdate | null = null;
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let lastLoggedStep = -1;
  let lastLoggedAt = Number.NEGATIVE_INFINITY;
  let finished = false;

  const withTotal = (progress: ProgressUpdate): ProgressUpdate => ({
    ...progress,
    bytesTotal: progress.bytesTotal ?? options.total ?? null,
  });

  /** Remaining seconds, from the byte rate when known, else from how fast the fraction has moved. */
  const secondsLeft = (progress: ProgressUpdate, time: number): number | null => {
    const { fraction, bytesDone, bytesTotal, bytesPerSecond } = progress;
    if (bytesDone !== undefined && bytesTotal && bytesPerSecond && bytesPerSecond > 0) {
      return Math.max(0, bytesTotal - bytesDone) / bytesPerSecond;
    }
    // Under a second of history says nothing about the pace.
    if (fraction === null || first === null || fraction <= first.fraction || time - first.time < 1000)
      return null;
    return ((time - first.time) / 1000) * ((1 - fraction) / (fraction - first.fraction));
  };

  const details = (progress: ProgressUpdate, time: number): string[] => {
    const parts: string[] = [];
    if (progress.bytesDone !== undefined) {
      parts.push(
        progress.bytesTotal
          ? `${megabytes(progress.bytesDone)}/${megabytes(progress.bytesTotal)} MB`
          : `${megabytes(progress.bytesDone)} MB`,
      );
    }
    if (progress.bytesPerSecond !== undefined && progress.bytesDone !== undefined) {
      parts.push(`${megabytes(progress.bytesPerSecond)} MB/s`);
    }
    const left = secondsLeft(progress, time);
    if (left !== null && Number.isFinite(left) && left < 100 * 3600) parts.push(`ETA ${duration(left)}`);
    return parts;
  };

  const draw = (progress: ProgressUpdate, time: number): void => {
    const columns = stream.columns && stream.columns > 20 ? stream.columns : 80;
    const text = details(progress, time).join("  ");
    let line: string;
    if (progress.fraction === null) {
      line = `${options.label}  ${text}`;
    } else {
      const percent = `${Math.floor(progress.fraction * 100)}%`.padStart(4);
      const room = columns - 1 - options.label.length - percent.length - text.length - 6;
      const width = Math.max(barWidthRange.min, Math.min(barWidthRange.max, room));
      const filled = Math.round(clampFraction(progress.fraction) * width);
      line = `${options.label} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ${percent}  ${text}`;
    }
    // A line wider than the terminal wraps, and \r then redraws only its last row.
    stream.write(`${clearLine}${line.trimEnd().slice(0, columns - 1)}`);
    lastDrawAt = time;
  };

  const log = (progress: ProgressUpdate, time: number): void => {
    const text = details(progress, time).join(", ");
    if (progress.fraction === null) {
      if (time - lastLoggedAt < unknownFractionLogIntervalMs) return;
      lastLoggedAt = time;
      stream.write(`${options.label}: ${text || "working"}\n`);
      return;
    }
    const step = Math.floor(clampFraction(progress.fraction) * 10);
    if (step <= lastLoggedStep) return;
    lastLoggedStep = step;
    stream.write(`${options.label}: ${step * 10}%${text ? ` (${text})` : ""}\n`);
  };

  const finish = (line: string): void => {
    if (finished) return;
    finished = true;
    stream.write(`${interactive ? clearLine : ""}${line}\n`);
  };

  return {
    update(progress) {
      if (finished) return;
      const time = now();
      const complete = withTotal(progress);
      if (first === null && complete.fraction !== null) first = { time, fraction: complete.fraction };
      last = complete;
      if (!interactive) log(complete, time);
      else if (time - lastDrawAt >= redrawIntervalMs) draw(complete, time);
    },
    done(message) {
      const seconds = (now() - startedAt) / 1000;
      const size = last?.bytesDone !== undefined ? `${megabytes(last.bytesDone)} MB in ` : "";
      finish(`${options.label}: ${message ?? "done"} (${size}${duration(seconds)})`);
    },
    fail(message) {
      finish(`${options.label}: failed: ${message}`);
    },
  };
}

function clampFraction(fraction: number): number {
  return Math.min(1, Math.max(0, fraction));
}

/** Decimal megabytes, as model pages give sizes. */
function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function duration(totalSeconds: number): string {
  const seconds = Math.round(totalSeconds);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

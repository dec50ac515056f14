// SPDX-License-Identifier: PolyForm-Shield-1.0
// Last-used times for keys and tokens, gathered in memory and written in one statement per interval.

/** Remembers which ids were used and writes them in one statement per interval. Verifying a key then costs no write. */
export function createLastUsedBatcher(options: {
  intervalMs: number;
  write: (ids: string[], at: Date) => Promise<void>;
}) {
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return writing;
    const ids = [...pending];
    pending = new Set();
    const at = new Date();
    // Chained so two flushes never write out of order; a failed write only loses a usage hint.
    writing = writing.then(() => options.write(ids, at)).catch(() => {});
    return writing;
  };

  return {
    touch(id: string) {
      pending.add(id);
      if (!timer) {
        timer = setTimeout(() => void flush(), options.intervalMs);
        timer.unref();
      }
    },
    flush,
    close: flush,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Turns values pushed by callbacks (an engine's chunks, a worker's messages) into an async iterable.

export class PushQueue<T> implements AsyncIterable<T> {
  private readonly values: T[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  push(value: T): void {
    if (this.ended) return;
    this.values.push(value);
    this.notify();
  }

  /** No more values: the iteration ends once the queued ones are read. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The iteration throws `error` once the queued values are read. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const value = this.values.shift();
      if (value !== undefined) {
        yield value;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

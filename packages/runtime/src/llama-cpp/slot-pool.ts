// SPDX-License-Identifier: PolyForm-Shield-1.0
// Hands out a fixed set of slots (context sequences) first come, first served; a waiter may give up by abort.

interface Waiter<Slot> {
  resolve: (slot: Slot) => void;
  reject: (error: unknown) => void;
}

export class SlotPool<Slot> {
  private readonly free: Slot[];
  private readonly waiters: Waiter<Slot>[] = [];
  private closedWith: Error | null = null;

  constructor(slots: readonly Slot[]) {
    this.free = [...slots];
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** A free slot, or the next one released; rejects with the signal's reason when aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const slot = this.free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter<Slot> = {
        resolve: (slot) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(slot);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(slot: Slot): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(slot);
    else this.free.push(slot);
  }

  /** Fails every waiter and every later acquire with `error` (the runtime is being disposed). */
  close(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Lets one generation run at a time, first come first served; a waiter may give up by abort.

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A tab serves one generation at a time: both engines run one sequence, and the tab shares its machine. */
export class GenerationGate {
  private busy = false;
  private readonly waiters: Waiter[] = [];
  private closedWith: Error | null = null;

  /** Resolves when this caller may run; rejects with the signal's reason when aborted while waiting. */
  enter(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index !== -1) this.waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
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

  leave(): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve();
    else this.busy = false;
  }

  /** Fails every waiter and every later caller with `error` (the runtime is being disposed). */
  close(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

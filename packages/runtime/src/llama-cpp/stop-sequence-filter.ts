// SPDX-License-Identifier: PolyForm-Shield-1.0
// Cuts streamed text at the first stop string, holding back any tail that could still become one.

export interface StopSequenceStep {
  /** Text that is safe to send now. */
  text: string;
  /** A stop string was reached: `text` is everything before it, and nothing more may be sent. */
  stopped: boolean;
}

/**
 * A stop string may arrive split over several tokens ("<|im" then "_end|>"), so text that ends with the
 * start of one is held until the next piece shows whether it completes; the stop text itself is never sent.
 */
export class StopSequenceFilter {
  private held = "";

  constructor(private readonly stops: readonly string[]) {}

  push(text: string): StopSequenceStep {
    this.held += text;
    let stopAt = -1;
    for (const stop of this.stops) {
      const index = this.held.indexOf(stop);
      if (index !== -1 && (stopAt === -1 || index < stopAt)) stopAt = index;
    }
    if (stopAt !== -1) {
      const before = this.held.slice(0, stopAt);
      this.held = "";
      return { text: before, stopped: true };
    }
    let keep = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.held.length); length > keep; length--) {
        if (this.held.endsWith(stop.slice(0, length))) {
          keep = length;
          break;
        }
      }
    }
    const ready = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return { text: ready, stopped: false };
  }

  /** The held tail, once no more text will come. */
  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }
}

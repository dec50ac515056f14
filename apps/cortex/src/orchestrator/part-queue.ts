// SPDX-License-Identifier: PolyForm-Shield-1.0
// A single-consumer queue of stream parts: the data channel pushes, the gateway iterates.

import type { StreamPart } from "@helexa/runtime";

export class PartQueue implements AsyncIterable<StreamPart> {
  readonly #parts: StreamPart[] = [];
  #waiting: ((result: IteratorResult<StreamPart>) => void) | null = null;
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  /** Adds a part; a finish or error part ends the queue, and anything after it is dropped. */
  push(part: StreamPart): void {
    if (this.#ended) return;
    if (part.type !== "text-delta") this.#ended = true;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting({ value: part, done: false });
    } else {
      this.#parts.push(part);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
    let finished = false;
    return {
      next: () => {
        if (finished) return Promise.resolve({ value: undefined, done: true });
        const part = this.#parts.shift();
        if (part) {
          if (part.type !== "text-delta") finished = true;
          return Promise.resolve({ value: part, done: false });
        }
        if (this.#ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.#waiting = (result) => {
            if (!result.done && result.value.type !== "text-delta") finished = true;
            resolve(result);
          };
        });
      },
    };
  }
}

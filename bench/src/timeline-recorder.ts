// SPDX-License-Identifier: PolyForm-Shield-1.0
// Collects what happened when during one request at a time, on one clock, for the fabric timeline.

export interface RequestTimeline {
  /** performance.now() of the client's call: every other time is relative to it. */
  startedAt: number;
  /** First start and end of each named span (auth, hold...), in ms from the call. */
  spans: Map<string, { start: number; end: number }>;
  /** Named instants, in ms from the call. */
  marks: Map<string, number>;
  /** When the runtime inside the neuron yielded each text delta, in ms from the call. */
  runtimeDeltas: number[];
  /** When the client received each text chunk, in ms from the call. */
  clientChunks: number[];
  /** For each delta, how long the neuron took to ask the runtime for the next one. */
  consumerWaits: number[];
}

export class TimelineRecorder {
  #current: RequestTimeline | null = null;
  readonly finished: RequestTimeline[] = [];

  begin(): RequestTimeline {
    this.#current = {
      startedAt: performance.now(),
      spans: new Map(),
      marks: new Map(),
      runtimeDeltas: [],
      clientChunks: [],
      consumerWaits: [],
    };
    return this.#current;
  }

  end(): void {
    if (this.#current) this.finished.push(this.#current);
    this.#current = null;
  }

  /** Outside a request (warm-up traffic, settlements after the end) nothing is kept. */
  get current(): RequestTimeline | null {
    return this.#current;
  }

  mark(name: string): void {
    const timeline = this.#current;
    if (timeline && !timeline.marks.has(name))
      timeline.marks.set(name, performance.now() - timeline.startedAt);
  }

  /** Times an async call and keeps its first occurrence in the request. */
  async span<Result>(name: string, call: () => Promise<Result>): Promise<Result> {
    const timeline = this.#current;
    const start = performance.now();
    try {
      return await call();
    } finally {
      if (timeline && timeline === this.#current && !timeline.spans.has(name)) {
        timeline.spans.set(name, {
          start: start - timeline.startedAt,
          end: performance.now() - timeline.startedAt,
        });
      }
    }
  }
}

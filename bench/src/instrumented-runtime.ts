// SPDX-License-Identifier: PolyForm-Shield-1.0
// Wraps a runtime so the timeline sees when a job reaches it, when each delta leaves it, and how long it waits.

import type { LanguageModelRuntime, StreamOptions, StreamPart } from "@helexa/runtime";
import type { TimelineRecorder } from "./timeline-recorder.js";

export function instrumentRuntime(
  runtime: LanguageModelRuntime,
  recorder: TimelineRecorder,
): LanguageModelRuntime {
  async function* doStream(options: StreamOptions): AsyncIterable<StreamPart> {
    recorder.mark("runtime.doStream");
    const timeline = recorder.current;
    for await (const part of runtime.doStream(options)) {
      if (part.type !== "text-delta" || !timeline) {
        yield part;
        continue;
      }
      const yieldedAt = performance.now();
      timeline.runtimeDeltas.push(yieldedAt - timeline.startedAt);
      yield part;
      // The runtime computes the next token only when asked: this is time added to every token.
      timeline.consumerWaits.push(performance.now() - yieldedAt);
    }
  }
  return {
    specificationVersion: runtime.specificationVersion,
    kind: runtime.kind,
    engine: runtime.engine,
    slots: runtime.slots,
    models: () => runtime.models(),
    doStream,
    doGenerate: (options) => runtime.doGenerate(options),
    [Symbol.asyncDispose]: () => runtime[Symbol.asyncDispose](),
  };
}

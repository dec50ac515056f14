// SPDX-License-Identifier: PolyForm-Shield-1.0
// A runtime for load tests only: no model, it emits numbered tokens at a set rate on timers, so the fabric can be measured alone.

import { type GenerationRequest, HelexaError, type Usage } from "@helexa/protocol";
import { StopSequenceFilter } from "./llama-cpp/stop-sequence-filter.js";
import {
  generateFromStream,
  type LanguageModelRuntime,
  RUNTIME_SPECIFICATION_VERSION,
  type RuntimeModel,
  type StreamOptions,
  type StreamPart,
} from "./runtime.js";
import { TokenAlignedText } from "./token-aligned-text.js";

/** The model id the synthetic runtime serves unless told otherwise. */
export const SYNTHETIC_LOAD_TEST_MODEL_ID = "synthetic-load-test";

export interface SyntheticLoadTestRuntimeOptions {
  /** Completion tokens per second of each stream: the first token comes at once, then one every 1/rate s. */
  tokensPerSecond: number;
  /** Model ids served; `synthetic-load-test` by default. */
  models?: string[];
  /** Generations at once, as advertised to cortex; a load test wants many (default 1,000). */
  slots?: number;
  /** The context length every model advertises (default 4,096). */
  contextLength?: number;
  /** Tokens of an answer when `max_tokens` does not cut it shorter; it then ends with `stop` (default 256). */
  answerTokens?: number;
}

/**
 * Token `i` (from 0) is the text ` t<i>`, due at the stream's start plus `i / tokensPerSecond`; a load test
 * that reads the index off each token knows when it was due. The schedule is absolute: a consumer that
 * falls behind gets the overdue tokens at once, as from an engine that generates on its own.
 * Usage is exact: prompt tokens are the prompt's whitespace-separated words, completion tokens those emitted.
 */
export function syntheticTokenText(index: number): string {
  return ` t${index}`;
}

/** The prompt's size in this runtime's tokens: its words (every chat message's together). */
export function syntheticPromptTokens(request: GenerationRequest): number {
  const text =
    request.input.kind === "chat"
      ? request.input.messages.map((message) => message.content).join(" ")
      : request.input.prompt;
  const words = text.trim();
  return words === "" ? 0 : words.split(/\s+/).length;
}

export function createSyntheticLoadTestRuntime(
  options: SyntheticLoadTestRuntimeOptions,
): LanguageModelRuntime {
  const { tokensPerSecond } = options;
  if (!(Number.isFinite(tokensPerSecond) && tokensPerSecond > 0))
    throw new RangeError("tokensPerSecond must be a positive number");
  const intervalMs = 1000 / tokensPerSecond;
  const contextLength = options.contextLength ?? 4096;
  const answerTokens = options.answerTokens ?? 256;
  const models: RuntimeModel[] = (options.models ?? [SYNTHETIC_LOAD_TEST_MODEL_ID]).map((id) => ({
    id,
    contextLength,
  }));

  async function* doStream({ request, abortSignal }: StreamOptions): AsyncIterable<StreamPart> {
    if (!models.some((model) => model.id === request.model)) {
      yield {
        type: "error",
        error: new HelexaError("model_not_found", `${request.model} is not served here`),
      };
      return;
    }
    const promptTokens = syntheticPromptTokens(request);
    let usage: Usage = { promptTokens, completionTokens: 0 };
    const room = Math.max(0, contextLength - promptTokens);
    const maxTokens = request.sampling.maxTokens;
    const limit = Math.min(answerTokens, room, maxTokens ?? Number.POSITIVE_INFINITY);
    // An answer cut by max_tokens or the context ends with `length`; one that runs its course, with `stop`.
    const cutShort = limit < answerTokens;
    const stops = request.sampling.stop ?? [];
    const filter = stops.length > 0 ? new StopSequenceFilter(stops) : null;
    const aligned = new TokenAlignedText();
    // Token i's id is i: a job taken over from another neuron goes on from the tokens it was given.
    const first = request.resume?.tokens.length ?? 0;
    usage = { promptTokens, completionTokens: first };
    const start = performance.now() - first * intervalMs;
    for (let index = first; index < limit; index++) {
      if (!(await waitUntil(start + index * intervalMs, abortSignal))) {
        yield { type: "finish", finishReason: "cancelled", usage };
        return;
      }
      usage = { promptTokens, completionTokens: index + 1 };
      const token = syntheticTokenText(index);
      if (!filter) {
        yield { type: "text-delta", text: token, usage, tokens: [index] };
        continue;
      }
      aligned.decoded([index], token);
      const step = filter.push(token);
      aligned.released(step.text);
      if (step.stopped) {
        const delta = aligned.takeAll();
        if (delta.text.length > 0)
          yield { type: "text-delta", text: delta.text, usage, tokens: delta.tokens };
        yield { type: "finish", finishReason: "stop", usage };
        return;
      }
      const delta = aligned.take();
      if (delta.text.length > 0) yield { type: "text-delta", text: delta.text, usage, tokens: delta.tokens };
    }
    if (filter) aligned.released(filter.flush());
    const rest = aligned.takeAll();
    if (rest.text.length > 0) yield { type: "text-delta", text: rest.text, usage, tokens: rest.tokens };
    if (abortSignal?.aborted) yield { type: "finish", finishReason: "cancelled", usage };
    else yield { type: "finish", finishReason: cutShort ? "length" : "stop", usage };
  }

  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "synthetic-for-load-tests",
    canResume: true,
    engine: `synthetic load-test runtime, no model: ${tokensPerSecond} tokens/s per stream`,
    slots: options.slots ?? 1000,
    models: () => models,
    doStream,
    doGenerate: (streamOptions) => generateFromStream(runtime, streamOptions),
    async [Symbol.asyncDispose]() {},
  };
  return runtime;
}

/** Waits on a timer until `deadline` (performance.now() time); false when the signal aborts first. */
function waitUntil(deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  const delay = deadline - performance.now();
  if (delay <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, delay);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The direct path: one streamed generation straight from the runtime, with nothing between caller and engine.

import type { ChatMessage } from "@helexa/protocol";
import type { LanguageModelRuntime } from "@helexa/runtime";
import type { Measurement } from "./measurement.js";

export interface DirectStreamOptions {
  runtime: LanguageModelRuntime;
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  seed: number;
  promptIndex: number;
}

export async function streamDirect(options: DirectStreamOptions): Promise<Measurement> {
  const chunkTimesMs: number[] = [];
  let text = "";
  const started = performance.now();
  for await (const part of options.runtime.doStream({
    request: {
      model: options.model,
      input: { kind: "chat", messages: options.messages },
      sampling: { maxTokens: options.maxTokens, temperature: 0, seed: options.seed },
    },
  })) {
    if (part.type === "text-delta") {
      chunkTimesMs.push(performance.now() - started);
      text += part.text;
    } else if (part.type === "error") {
      throw part.error;
    } else {
      const durationMs = performance.now() - started;
      return {
        path: "direct",
        promptIndex: options.promptIndex,
        text,
        promptTokens: part.usage.promptTokens,
        completionTokens: part.usage.completionTokens,
        finishReason: part.finishReason,
        timeToFirstTokenMs: chunkTimesMs[0] ?? durationMs,
        durationMs,
        chunkTimesMs,
      };
    }
  }
  throw new Error("the runtime's stream ended without a finish part");
}

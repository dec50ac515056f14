// SPDX-License-Identifier: PolyForm-Shield-1.0
// The fabric path: one streamed chat completion through the gateway with the official openai SDK.

import type { ChatMessage } from "@helexa/protocol";
import type OpenAI from "openai";
import type { Measurement } from "./measurement.js";

export interface FabricStreamOptions {
  client: OpenAI;
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  seed: number;
  promptIndex: number;
}

export async function streamFabric(options: FabricStreamOptions): Promise<Measurement> {
  const chunkTimesMs: number[] = [];
  let text = "";
  let finishReason = "";
  let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
  const started = performance.now();
  const { data: stream } = await options.client.chat.completions
    .create({
      model: options.model,
      messages: options.messages,
      max_tokens: options.maxTokens,
      temperature: 0,
      seed: options.seed,
      stream: true,
      stream_options: { include_usage: true },
    })
    .withResponse();
  const timeToHeadersMs = performance.now() - started;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    const content = choice?.delta.content;
    if (content) {
      chunkTimesMs.push(performance.now() - started);
      text += content;
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  const durationMs = performance.now() - started;
  if (!usage)
    throw new Error("the gateway sent no usage chunk although stream_options.include_usage was set");
  return {
    path: "fabric",
    promptIndex: options.promptIndex,
    text,
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    finishReason,
    timeToFirstTokenMs: chunkTimesMs[0] ?? durationMs,
    durationMs,
    timeToHeadersMs,
    chunkTimesMs,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The OpenAI-compatible HTTP shapes that the gateway and neuron api sockets accept and return.

import { z } from "zod";
import type { GenerationRequest, Sampling } from "./generation.js";

const stopSchema = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();
const nSchema = z.literal(1, { error: "only n=1 is supported" }).nullish();

const samplingFields = {
  model: z.string({ error: "model is required" }).min(1, { error: "model is required" }),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.int().nullish(),
  stop: stopSchema,
  n: nSchema,
  user: z.string().nullish(),
};

const contentPartSchema = z.object({ type: z.literal("text"), text: z.string() });

export const openaiChatMessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.union([z.string(), z.array(contentPartSchema)]).nullable(),
  name: z.string().optional(),
});

export const chatCompletionRequestSchema = z.object({
  ...samplingFields,
  messages: z.array(openaiChatMessageSchema).min(1, { error: "messages must not be empty" }),
  max_completion_tokens: z.int().positive().nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const completionRequestSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { error: "only one prompt is supported" })]),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** OpenAI's default for /v1/completions when max_tokens is absent. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

function samplingOf(
  body: ChatCompletionRequest | CompletionRequest,
  maxTokens: number | null | undefined,
): Sampling {
  const sampling: Sampling = {};
  if (maxTokens != null) sampling.maxTokens = maxTokens;
  if (body.temperature != null) sampling.temperature = body.temperature;
  if (body.top_p != null) sampling.topP = body.top_p;
  if (body.seed != null) sampling.seed = body.seed;
  if (body.stop != null) sampling.stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  return sampling;
}

export function chatRequestToGeneration(body: ChatCompletionRequest): GenerationRequest {
  return {
    model: body.model,
    input: {
      kind: "chat",
      messages: body.messages.map((message) => ({
        role: message.role,
        content:
          typeof message.content === "string"
            ? message.content
            : (message.content ?? []).map((part) => part.text).join(""),
      })),
    },
    sampling: samplingOf(body, body.max_completion_tokens ?? body.max_tokens),
  };
}

export function completionRequestToGeneration(body: CompletionRequest): GenerationRequest {
  return {
    model: body.model,
    input: { kind: "text", prompt: typeof body.prompt === "string" ? body.prompt : (body.prompt[0] ?? "") },
    sampling: samplingOf(body, body.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS),
  };
}

/** OpenAI's error envelope. */
export interface OpenAIErrorEnvelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const modelObjectSchema = z.object({
  id: z.string(),
  object: z.literal("model"),
  created: z.int(),
  owned_by: z.string(),
});
export type ModelObject = z.infer<typeof modelObjectSchema>;

// Response shapes, enough of OpenAI's for a client to parse streamed and whole answers.
export const openaiUsageSchema = z.object({
  prompt_tokens: z.int(),
  completion_tokens: z.int(),
  total_tokens: z.int(),
});
export const chatCompletionChunkSchema = z.object({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.int(),
      delta: z.object({ role: z.string().optional(), content: z.string().optional() }),
      finish_reason: z.string().nullable(),
    }),
  ),
  usage: openaiUsageSchema.nullish(),
});
export const completionChunkSchema = z.object({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.int(),
  model: z.string(),
  choices: z.array(z.object({ index: z.int(), text: z.string(), finish_reason: z.string().nullable() })),
  usage: openaiUsageSchema.nullish(),
});

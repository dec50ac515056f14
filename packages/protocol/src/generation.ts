// SPDX-License-Identifier: PolyForm-Shield-1.0
// What a runtime is asked to generate and what it reports back: shared by gateway, wire and runtimes.

import { z } from "zod";

export const chatMessageSchema = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const generationInputSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("chat"), messages: z.array(chatMessageSchema).min(1) }),
  z.object({ kind: z.literal("text"), prompt: z.string() }),
]);
export type GenerationInput = z.infer<typeof generationInputSchema>;

export const samplingSchema = z.object({
  maxTokens: z.int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  seed: z.int().optional(),
  stop: z.array(z.string().min(1)).max(4).optional(),
});
export type Sampling = z.infer<typeof samplingSchema>;

/** Token ids of the model's vocabulary. */
export const tokenIdsSchema = z.array(z.int().nonnegative()).max(1_000_000);

export const generationRequestSchema = z.object({
  model: z.string().min(1),
  input: generationInputSchema,
  sampling: samplingSchema,
  /**
   * Failover: the completion tokens another neuron already generated and the client already got. The
   * runtime evaluates them after the prompt and goes on from there, counting them as completion tokens
   * (they are billed once, and `maxTokens` still bounds the whole completion). Only the gateway sets it.
   */
  resume: z.object({ tokens: tokenIdsSchema.min(1) }).optional(),
});
export type GenerationRequest = z.infer<typeof generationRequestSchema>;

export const usageSchema = z.object({
  promptTokens: z.int().nonnegative(),
  completionTokens: z.int().nonnegative(),
});
export type Usage = z.infer<typeof usageSchema>;

export const finishReasonSchema = z.enum(["stop", "length", "cancelled"]);
export type FinishReason = z.infer<typeof finishReasonSchema>;

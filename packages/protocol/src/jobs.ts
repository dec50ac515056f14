// SPDX-License-Identifier: PolyForm-Shield-1.0
// Messages on the WebRTC data channel between cortex and a neuron: jobs and their token streams.

import { z } from "zod";
import { wireErrorSchema } from "./errors.js";
import { finishReasonSchema, generationRequestSchema, tokenIdsSchema, usageSchema } from "./generation.js";

const jobId = z.string().min(1).max(100);

export const jobStartSchema = z.object({
  type: z.literal("job.start"),
  jobId,
  request: generationRequestSchema,
  /** The gateway's request id (`x-request-id`), so the neuron's log lines can be joined to the gateway's. */
  requestId: z.string().min(1).max(200).optional(),
});
export const jobCancelSchema = z.object({ type: z.literal("job.cancel"), jobId });
/**
 * A piece of text; `usage` counts every token so far, so a job cut short is still billed exactly.
 * `tokens` are the ids of the completion tokens whose text this delta completes: all the deltas' tokens
 * together spell exactly the text sent so far, which lets another neuron resume the job after a failure.
 */
export const jobDeltaSchema = z.object({
  type: z.literal("job.delta"),
  jobId,
  text: z.string(),
  usage: usageSchema.optional(),
  tokens: tokenIdsSchema.optional(),
});
export const jobEndSchema = z.object({
  type: z.literal("job.end"),
  jobId,
  finishReason: finishReasonSchema,
  usage: usageSchema,
});
export const jobErrorSchema = z.object({ type: z.literal("job.error"), jobId, error: wireErrorSchema });

export type JobStart = z.infer<typeof jobStartSchema>;
export type JobCancel = z.infer<typeof jobCancelSchema>;
export type JobDelta = z.infer<typeof jobDeltaSchema>;
export type JobEnd = z.infer<typeof jobEndSchema>;
export type JobError = z.infer<typeof jobErrorSchema>;

/** What cortex sends a neuron on the data channel. */
export const cortexChannelMessageSchema = z.discriminatedUnion("type", [jobStartSchema, jobCancelSchema]);
export type CortexChannelMessage = z.infer<typeof cortexChannelMessageSchema>;

/** What a neuron sends cortex on the data channel. */
export const neuronChannelMessageSchema = z.discriminatedUnion("type", [
  jobDeltaSchema,
  jobEndSchema,
  jobErrorSchema,
]);
export type NeuronChannelMessage = z.infer<typeof neuronChannelMessageSchema>;

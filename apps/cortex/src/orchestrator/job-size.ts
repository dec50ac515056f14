// SPDX-License-Identifier: PolyForm-Shield-1.0
// How big a job is before any tokenizer sees it, and whether a neuron's limits take it: what keeps oversized jobs off browser tabs.

import type { GenerationRequest } from "@helexa/protocol";
import type { NeuronSession } from "./neuron-session.js";

/** What placement knows of a job's size. */
export interface JobSize {
  /** The prompt's tokens, estimated (`estimatePromptTokens`). */
  promptTokens: number;
  /** The request's max_tokens; null when it sets none, and the model may then go on to its context length. */
  maxTokens: number | null;
}

/** A job placed without a size (a caller that knows none) is taken to be as long as a job can be. */
export const unknownJobSize: JobSize = { promptTokens: 0, maxTokens: null };

/** Tokens the chat template adds around each message (role markers, separators), generously. */
const templateTokensPerMessage = 8;
/** Bytes per token the estimate assumes: English averages about four; code and other scripts nearer three. */
const bytesPerToken = 3;

/**
 * The prompt's tokens as cortex guesses them, without the model's tokenizer: a third of its UTF-8 bytes
 * plus the chat template's share per message. It leans high for English (about four bytes a token), so a
 * tab is rarely handed a job that overflows its limit; a prompt of rare characters (a byte a token) may
 * still exceed it, and the tab's runtime then refuses it at its context length.
 */
export function estimatePromptTokens(request: GenerationRequest): number {
  const encoder = new TextEncoder();
  if (request.input.kind === "text")
    return Math.ceil(encoder.encode(request.input.prompt).length / bytesPerToken);
  let tokens = templateTokensPerMessage;
  for (const message of request.input.messages) {
    tokens += templateTokensPerMessage + Math.ceil(encoder.encode(message.content).length / bytesPerToken);
  }
  return tokens;
}

export function jobSizeOf(request: GenerationRequest): JobSize {
  return { promptTokens: estimatePromptTokens(request), maxTokens: request.sampling.maxTokens ?? null };
}

/** A browser tab (a /donate page), which may vanish at any moment. */
export function isBrowserNeuron(session: NeuronSession): boolean {
  return session.capabilities?.host === "browser";
}

/**
 * Tokens the job may take on this neuron: prompt plus completion, but never past the model's context
 * there, where the runtime stops it (a job with no max_tokens therefore needs the whole context).
 */
export function jobTokensOn(session: NeuronSession, modelId: string, size: JobSize): number {
  const context =
    session.models.find((model) => model.id === modelId)?.contextLength ?? Number.POSITIVE_INFINITY;
  return Math.min(size.promptTokens + (size.maxTokens ?? Number.POSITIVE_INFINITY), context);
}

/** Whether the neuron takes a job this size: within its `maxJobTokens` (a neuron with no limit takes any). */
export function jobFits(session: NeuronSession, modelId: string, size: JobSize): boolean {
  const limit = session.capabilities?.limits?.maxJobTokens;
  return limit === undefined || jobTokensOn(session, modelId, size) <= limit;
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The OpenAI-compatible HTTP surface shared by cortex's gateway and a neuron's api socket.

export { type HttpError, toHttpError } from "./openai-error.js";
export {
  createOpenAIHandler,
  type Generation,
  type OpenAIBackend,
  type OpenAIHandlerOptions,
  type RequestListener,
} from "./openai-handler.js";
export { ServerSentEvents } from "./server-sent-events.js";

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Turns any thrown value into OpenAI's error envelope and HTTP status: the one error handler of an OpenAI socket.

import { errorCodeTable, HelexaError, type OpenAIErrorEnvelope } from "@helexa/protocol";

export interface HttpError {
  status: number;
  envelope: OpenAIErrorEnvelope;
  headers: Record<string, string>;
}

export function toHttpError(error: unknown): HttpError {
  const helexa = HelexaError.is(error)
    ? error
    : new HelexaError("internal", "internal error", { cause: error });
  const entry = errorCodeTable[helexa.code];
  const headers: Record<string, string> = {};
  if (helexa.retryAfterSeconds !== null)
    headers["retry-after"] = String(Math.max(1, Math.ceil(helexa.retryAfterSeconds)));
  else if (helexa.code === "rate_limited" || helexa.code === "no_capacity") headers["retry-after"] = "1";
  return {
    status: entry.status,
    headers,
    envelope: {
      error: { message: helexa.message, type: entry.openaiType, param: helexa.param, code: helexa.code },
    },
  };
}

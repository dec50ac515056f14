// SPDX-License-Identifier: PolyForm-Shield-1.0
// The one error base of helexa: a stable code, whether a retry may help, and the table from code to status.

import { z } from "zod";

export const errorCodes = [
  "invalid_request",
  "invalid_api_key",
  "unauthenticated",
  "insufficient_quota",
  "permission_denied",
  "model_not_found",
  "not_found",
  "rate_limited",
  "no_capacity",
  "neuron_lost",
  "job_cancelled",
  "upstream_error",
  "model_invalid",
  "download_failed",
  "checksum_mismatch",
  "protocol_version_unsupported",
  "protocol_violation",
  "timeout",
  "internal",
] as const;

export const errorCodeSchema = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** How each code appears on an HTTP interface: status and OpenAI's error `type`. */
export const errorCodeTable: Record<ErrorCode, { status: number; openaiType: string; retryable: boolean }> = {
  invalid_request: { status: 400, openaiType: "invalid_request_error", retryable: false },
  invalid_api_key: { status: 401, openaiType: "invalid_request_error", retryable: false },
  unauthenticated: { status: 401, openaiType: "invalid_request_error", retryable: false },
  insufficient_quota: { status: 402, openaiType: "insufficient_quota", retryable: false },
  permission_denied: { status: 403, openaiType: "invalid_request_error", retryable: false },
  model_not_found: { status: 404, openaiType: "invalid_request_error", retryable: false },
  not_found: { status: 404, openaiType: "invalid_request_error", retryable: false },
  rate_limited: { status: 429, openaiType: "requests", retryable: true },
  no_capacity: { status: 503, openaiType: "server_error", retryable: true },
  neuron_lost: { status: 502, openaiType: "server_error", retryable: true },
  job_cancelled: { status: 499, openaiType: "server_error", retryable: false },
  upstream_error: { status: 502, openaiType: "server_error", retryable: true },
  model_invalid: { status: 422, openaiType: "invalid_request_error", retryable: false },
  download_failed: { status: 502, openaiType: "server_error", retryable: true },
  checksum_mismatch: { status: 502, openaiType: "server_error", retryable: false },
  protocol_version_unsupported: { status: 426, openaiType: "invalid_request_error", retryable: false },
  protocol_violation: { status: 400, openaiType: "invalid_request_error", retryable: false },
  timeout: { status: 504, openaiType: "server_error", retryable: true },
  internal: { status: 500, openaiType: "server_error", retryable: true },
};

export interface HelexaErrorOptions {
  /** The request field at fault, reported as OpenAI's `param`. */
  param?: string | null;
  cause?: unknown;
  /** For rate limits and full queues: when a retry may succeed, sent as HTTP Retry-After. */
  retryAfterSeconds?: number;
}

export class HelexaError extends Error {
  override readonly name = "HelexaError";
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly retryAfterSeconds: number | null;

  constructor(code: ErrorCode, message: string, options: HelexaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }

  get isRetryable(): boolean {
    return errorCodeTable[this.code].retryable;
  }

  get status(): number {
    return errorCodeTable[this.code].status;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }

  static is(value: unknown): value is HelexaError {
    return value instanceof HelexaError;
  }

  static fromWire(error: WireError): HelexaError {
    return new HelexaError(error.code, error.message);
  }
}

/** An error as it travels between cortex and neurons. */
export const wireErrorSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
});
export type WireError = z.infer<typeof wireErrorSchema>;

/** One line that says which field is wrong and what it accepts, from a zod failure. */
export function describeZodError(error: z.ZodError, prefix = ""): { message: string; param: string | null } {
  const issue = error.issues[0];
  if (!issue) return { message: "invalid value", param: null };
  const param = issue.path.length > 0 ? `${prefix}${issue.path.map(String).join(".")}` : null;
  return { message: param ? `${param}: ${issue.message}` : issue.message, param };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Decoding messages off a socket or channel: JSON, then the schema, else a typed protocol error.

import type { z } from "zod";
import { describeZodError, HelexaError } from "./errors.js";

export function decodeMessage<Schema extends z.ZodType>(schema: Schema, raw: string): z.infer<Schema> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HelexaError("protocol_violation", "message is not valid JSON");
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HelexaError(
      "protocol_violation",
      `malformed message: ${describeZodError(result.error).message}`,
    );
  }
  return result.data;
}

export function encodeMessage<Message extends { type: string }>(message: Message): string {
  return JSON.stringify(message);
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Secrets shown once (API keys, neuron tokens): how they are generated, recognised and hashed for storage.

import { createHash, randomBytes } from "node:crypto";

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 40 base62 characters carry about 238 bits: far beyond guessing, short enough to paste. */
export const secretTokenRandomLength = 40;
/** How many characters of a token are kept in the clear so a person can tell tokens apart. */
const visiblePrefixRandomLength = 4;

export interface SecretToken {
  /** The whole token, shown to its owner once. */
  token: string;
  /** The token's first characters, safe to store and list. */
  prefix: string;
  /** sha256 of the token, hex: what is stored and looked up. */
  hash: string;
}

export function generateSecretToken(options: { prefix: string }): SecretToken {
  const token = options.prefix + randomBase62(secretTokenRandomLength);
  return {
    token,
    prefix: token.slice(0, options.prefix.length + visiblePrefixRandomLength),
    hash: hashSecretToken(token),
  };
}

export function hashSecretToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Whether a string has the shape of a token with this prefix; anything else is rejected without a lookup. */
export function looksLikeSecretToken(value: string, options: { prefix: string }): boolean {
  if (!value.startsWith(options.prefix)) return false;
  const rest = value.slice(options.prefix.length);
  return rest.length === secretTokenRandomLength && /^[0-9A-Za-z]+$/.test(rest);
}

function randomBase62(length: number): string {
  let result = "";
  while (result.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 is the largest multiple of 62 below 256: dropping bytes above it keeps every character equally likely.
      if (byte >= 248) continue;
      result += base62Alphabet[byte % 62];
      if (result.length === length) break;
    }
  }
  return result;
}

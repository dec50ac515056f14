// SPDX-License-Identifier: PolyForm-Shield-1.0
// Secret tokens: shape, randomness and the hash that is stored in their place.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { generateSecretToken, hashSecretToken, looksLikeSecretToken } from "./secret-token.js";

describe("secret tokens", () => {
  it("have the prefix, 40 base62 characters, a short visible prefix and a sha256 hash", () => {
    const secret = generateSecretToken({ prefix: "sk-hx-" });
    assert.match(secret.token, /^sk-hx-[0-9A-Za-z]{40}$/);
    assert.equal(secret.prefix, secret.token.slice(0, 10));
    assert.equal(secret.hash, createHash("sha256").update(secret.token).digest("hex"));
    assert.equal(hashSecretToken(secret.token), secret.hash);
  });

  it("do not repeat and use the whole alphabet", () => {
    const tokens = Array.from({ length: 500 }, () => generateSecretToken({ prefix: "nt-hx-" }).token);
    assert.equal(new Set(tokens).size, tokens.length);
    const characters = new Set(tokens.join("").replaceAll("nt-hx-", ""));
    assert.equal(characters.size, 62);
  });

  it("are recognised by shape before any lookup", () => {
    const { token } = generateSecretToken({ prefix: "sk-hx-" });
    assert.equal(looksLikeSecretToken(token, { prefix: "sk-hx-" }), true);
    assert.equal(looksLikeSecretToken(token, { prefix: "nt-hx-" }), false);
    assert.equal(looksLikeSecretToken(`${token.slice(0, -1)}!`, { prefix: "sk-hx-" }), false);
    assert.equal(looksLikeSecretToken(token.slice(0, -1), { prefix: "sk-hx-" }), false);
  });
});

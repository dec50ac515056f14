// SPDX-License-Identifier: PolyForm-Shield-1.0
// The argon2id password hasher: verifies what it hashed, refuses the rest, and never throws on a bad hash.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPasswordHasher } from "./password-hasher.js";

describe("createPasswordHasher", () => {
  const hasher = createPasswordHasher();

  it("verifies the password it hashed and refuses another", async () => {
    const hash = await hasher.hash("correct horse battery");
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await hasher.verify(hash, "correct horse battery"), true);
    assert.equal(await hasher.verify(hash, "correct horse batterY"), false);
    assert.equal(await hasher.verify(hash, ""), false);
  });

  it("salts every hash", async () => {
    const [first, second] = await Promise.all([hasher.hash("same password"), hasher.hash("same password")]);
    assert.notEqual(first, second);
    assert.equal(await hasher.verify(second, "same password"), true);
  });

  it("answers false, never throws, for a malformed stored hash", async () => {
    for (const malformed of [
      "",
      "not a hash",
      "$argon2id$v=19$m=19456,t=2,p=1$broken",
      "$2b$10$abcdefghijklmnopqrstuv",
    ]) {
      assert.equal(await hasher.verify(malformed, "anything at all"), false, JSON.stringify(malformed));
    }
  });
});

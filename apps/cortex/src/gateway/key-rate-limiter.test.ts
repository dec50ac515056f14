// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the per-key sliding window.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { KeyRateLimiter } from "./key-rate-limiter.js";

describe("KeyRateLimiter", () => {
  it("admits the limit per minute, refuses the next with the wait until the oldest leaves the window", () => {
    const limiter = new KeyRateLimiter();
    const start = 1_000_000;
    for (let index = 0; index < 3; index++) limiter.admit("key", 3, start + index * 1000);
    assert.throws(
      () => limiter.admit("key", 3, start + 10_000),
      (error: unknown) =>
        HelexaError.is(error) && error.code === "rate_limited" && error.retryAfterSeconds === 50,
    );
    // Another key has its own window.
    limiter.admit("other", 3, start + 10_000);
    // A minute after the first request a slot is free again.
    limiter.admit("key", 3, start + 60_001);
  });
});

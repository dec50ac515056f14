// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the benchmark's settings from flags and BENCH_* variables.

import assert from "node:assert/strict";
import { test } from "node:test";
import { BenchUsageError, parseBenchOptions } from "./bench-options.js";

test("defaults to 20 requests of 128 tokens on the bench model, 2 threads", () => {
  const options = parseBenchOptions({ argv: [], env: {} });
  assert.ok(options);
  assert.equal(options.requests, 20);
  assert.equal(options.maxTokens, 128);
  assert.equal(options.preset, "bench");
  assert.equal(options.modelSeed, 1);
  assert.equal(options.threads, 2);
  assert.equal(options.fabricThreads, undefined);
  assert.equal(options.verbose, false);
});

test("reads BENCH_* variables, and flags win over them", () => {
  const options = parseBenchOptions({
    argv: ["--requests", "5", "--verbose"],
    env: { BENCH_REQUESTS: "9", BENCH_MAX_TOKENS: "16", BENCH_PRESET: "test", BENCH_PROFILE: "1" },
  });
  assert.ok(options);
  assert.equal(options.requests, 5);
  assert.equal(options.maxTokens, 16);
  assert.equal(options.preset, "test");
  assert.equal(options.verbose, true);
  assert.equal(options.profile, true);
});

test("an empty variable counts as unset", () => {
  assert.equal(parseBenchOptions({ argv: [], env: { BENCH_REQUESTS: "" } })?.requests, 20);
});

test("refuses bad values and names the flag and the variable", () => {
  assert.throws(
    () => parseBenchOptions({ argv: ["--requests", "0"], env: {} }),
    (error: unknown) =>
      error instanceof BenchUsageError && /--requests \(BENCH_REQUESTS\)/.test(error.message),
  );
  assert.throws(() => parseBenchOptions({ argv: [], env: { BENCH_PRESET: "huge" } }), BenchUsageError);
  assert.throws(() => parseBenchOptions({ argv: ["--max-tokens", "lots"], env: {} }), BenchUsageError);
  assert.throws(() => parseBenchOptions({ argv: ["--no-such-flag"], env: {} }), BenchUsageError);
  assert.throws(() => parseBenchOptions({ argv: ["stray"], env: {} }), BenchUsageError);
});

test("--help gives null", () => {
  assert.equal(parseBenchOptions({ argv: ["--help"], env: {} }), null);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs the whole benchmark briefly on the tiny test model, in a network namespace, and reads its report.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const inNetns = fileURLToPath(new URL("../../scripts/in-netns.mjs", import.meta.url));
const bench = fileURLToPath(new URL("./gateway-overhead.js", import.meta.url));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [inNetns, process.execPath, bench, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("both paths give the same greedy text and usage, and the report has every figure", {
  timeout: 120_000,
}, async (t) => {
  const result = await runBench([
    "--preset",
    "test",
    "--requests",
    "3",
    "--warmup",
    "1",
    "--max-tokens",
    "16",
    "--threads",
    "1",
  ]);
  // in-netns says why it could not make a namespace and exits 0 (1 on CI, which fails below).
  if (result.code === 0 && result.stdout.startsWith("skipped:")) {
    t.skip(result.stdout.trim());
    return;
  }
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /identical text on both paths\s+3\/3 prompts\n/);
  assert.match(result.stdout, /identical usage and finish reason\s+3\/3 prompts\n/);
  for (const label of [
    "TTFT median (ms)",
    "TTFT p90 (ms)",
    "decode tokens/s median",
    "end-to-end tokens/s median",
  ]) {
    assert.match(
      result.stdout,
      new RegExp(`${label.replace(/[()/]/g, "\\$&")}\\s+\\d+\\.\\d+\\s+\\d+\\.\\d+`),
    );
  }
  assert.match(result.stdout, /fabric\/direct decode tokens\/s\s+\d+\.\d{3}/);
  assert.match(result.stdout, /added median TTFT\s+[+-]\d+\.\d+ ms/);
  // The fabric child was stopped with SIGINT and exited cleanly.
  assert.match(result.stderr, /fabric stopped \(exit 0\)/);
});

test("a bad option is a usage error with exit code 2", async () => {
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bench, "--requests", "none"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--requests \(BENCH_REQUESTS\)/);
});

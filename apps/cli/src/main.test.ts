// SPDX-License-Identifier: PolyForm-Shield-1.0
// The helexa command as a user meets it: help, bad values, missing roles — exit codes and one clear line.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("./main.js", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "helexa-cli-"));

function helexa(args: string[], environment: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    env: { ...process.env, HELEXA_HOME: home, ...environment },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("--help works on every command", () => {
  for (const command of [[], ["up"], ["cortex"], ["neuron"], ["model", "generate"]]) {
    const result = helexa([...command, "--help"]);
    assert.equal(result.code, 0, `${command.join(" ")}: ${result.stderr}`);
    assert.match(result.stdout, /Usage: helexa/);
  }
  assert.match(helexa(["cortex", "--help"]).stdout, /--orchestrator-socket HOST:PORT/);
  assert.match(helexa(["neuron", "--help"]).stdout, /--control-socket HOST:PORT/);
});

test("a bad value is one line naming the key, its source and what it accepts, with exit code 2", () => {
  const fromFlag = helexa(["neuron", "--threads", "abc", "--model", "x.gguf"]);
  assert.equal(fromFlag.code, 2);
  assert.equal(fromFlag.stderr.trim().split("\n").length, 1);
  assert.match(fromFlag.stderr, /neuron\.threads .*--threads.* must be a positive integer/);

  const fromEnvironment = helexa(["cortex", "--gateway-socket", "127.0.0.1:1"], {
    HELEXA_CORTEX_ORCHESTRATOR_SOCKET: "nowhere:99999",
  });
  assert.equal(fromEnvironment.code, 2);
  assert.match(
    fromEnvironment.stderr,
    /cortex\.orchestratorSocket \(from HELEXA_CORTEX_ORCHESTRATOR_SOCKET\)/,
  );
});

test("cortex with no socket says what it needs; unknown commands and flags exit 2", () => {
  const noRole = helexa(["cortex"]);
  assert.equal(noRole.code, 2);
  assert.match(
    noRole.stderr,
    /needs at least one role: give --orchestrator-socket, --gateway-socket or --portal-socket/,
  );
  assert.equal(helexa(["fly"]).code, 2);
  const unknownFlag = helexa(["neuron", "--modle", "x"]);
  assert.equal(unknownFlag.code, 2);
  assert.match(unknownFlag.stderr, /--modle/);
});

test("a neuron without a model or upstream is told so, unless cortex may provision it", () => {
  // With cortex to ask it for models (provisioning on, the default) it starts empty instead.
  for (const args of [[], ["--cortex", "ws://127.0.0.1:1", "--token", "nt-hx-x", "--provisioning", "off"]]) {
    const result = helexa(["neuron", ...args]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /needs --model PATH\|URL or --upstream-url URL, or --cortex with provisioning on/,
    );
  }
});

test("the synthetic load-test runtime takes a positive rate and no model", () => {
  const withModel = helexa(["neuron", "--synthetic-load-test-runtime", "20", "--model", "x.gguf"]);
  assert.equal(withModel.code, 2);
  assert.match(withModel.stderr, /--synthetic-load-test-runtime serves no model/);
  const badRate = helexa(["neuron", "--synthetic-load-test-runtime", "fast"]);
  assert.equal(badRate.code, 2);
  assert.match(badRate.stderr, /syntheticLoadTestTokensPerSecond|synthetic-load-test-runtime/);
  assert.match(
    helexa(["neuron", "--help"]).stdout,
    /--synthetic-load-test-runtime TOKENS_PER_SECOND +for load tests only/,
  );
});

test("model generate writes a GGUF the header check accepts", async () => {
  const out = join(home, "generated.gguf");
  const result = helexa(["model", "generate", "--out", out, "--seed", "3"]);
  assert.equal(result.code, 0, result.stderr);
  const { readGgufHeader, validateLlamaModelHeader } = await import("@helexa/gguf");
  validateLlamaModelHeader(await readGgufHeader(out));
});

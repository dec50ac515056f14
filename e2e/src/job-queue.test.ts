// SPDX-License-Identifier: PolyForm-Shield-1.0
// Jobs wait their turn for a busy neuron: fair between accounts, bounded, answered 429 with Retry-After when full.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  checkLedgerIntegrity,
  createAccountStore,
  createApiKeyStore,
  Ledger,
  openDatabase,
} from "@helexa/db";
import OpenAI from "openai";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { type HelexaProcess, startUp } from "./__fixtures__/helexa-process.js";

/** Jobs that may wait at once in this test's cortex. */
const QUEUE_LIMIT = 10;

describe("the job queue", () => {
  let fabric: HelexaProcess;
  let home: string;
  let gatewayUrl: string;
  let orchestratorUrl: string;
  const keys: Record<"heavy" | "light", string> = { heavy: "", light: "" };

  before(async () => {
    const workspace = await makeTestWorkspace();
    home = workspace.home;
    // Two customers with credit, made before the fabric starts (its embedded database admits one process).
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      const accounts = createAccountStore({ db: database.db });
      await using apiKeys = createApiKeyStore({ db: database.db });
      await using ledger = new Ledger({ db: database.db });
      for (const name of ["heavy", "light"] as const) {
        const account = await accounts.createAccount({ name });
        keys[name] = (await apiKeys.createApiKey({ accountId: account.id, name })).key;
        await ledger.grantCredits({
          accountId: account.id,
          amount: 50_000_000,
          idempotencyKey: `e2e-${name}`,
        });
      }
    } finally {
      await database.close();
    }
    // One neuron with one slot: every job but one waits.
    ({ fabric, gatewayUrl, orchestratorUrl } = await startUp({
      home,
      modelPath: workspace.modelPath,
      environment: {
        HELEXA_CORTEX_QUEUE_LIMIT: String(QUEUE_LIMIT),
        HELEXA_CORTEX_QUEUE_TIMEOUT_SECONDS: "60",
      },
    }));
  });

  after(async () => {
    await fabric?.stop("SIGINT");
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
    } finally {
      await database.close();
    }
  });

  const client = (name: "heavy" | "light") =>
    new OpenAI({ apiKey: keys[name], baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
  const ask = (name: "heavy" | "light", index: number, maxTokens = 48) =>
    client(name).chat.completions.create({
      model: TEST_MODEL_ID,
      messages: [{ role: "user", content: `${name} ${index}` }],
      max_tokens: maxTokens,
      temperature: 0,
    });

  /** Freezes the neuron while `during` runs, so jobs pile up exactly as the test arranges them. */
  async function withNeuronFrozen<T>(during: () => Promise<T>): Promise<T> {
    const neuronPid = Number(
      execFileSync("pgrep", ["-P", String(fabric.child.pid)])
        .toString()
        .trim()
        .split("\n")[0],
    );
    process.kill(neuronPid, "SIGSTOP");
    try {
      return await during();
    } finally {
      process.kill(neuronPid, "SIGCONT");
    }
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

  test("an account that floods the queue does not keep another waiting behind all its jobs", async () => {
    const finished: string[] = [];
    const record = (label: string) => () => {
      finished.push(label);
    };
    const jobs = await withNeuronFrozen(async () => {
      const heavy = Array.from({ length: 8 }, (_, index) =>
        ask("heavy", index).then(record(`heavy ${index}`)),
      );
      await settle();
      const light = Array.from({ length: 2 }, (_, index) =>
        ask("light", index).then(record(`light ${index}`)),
      );
      await settle();
      return [...heavy, ...light];
    });
    await Promise.all(jobs);
    assert.equal(finished.length, 10, "every job of both accounts was served");
    // One slot: the heavy job placed first, then the accounts take turns while both wait.
    assert.deepEqual(
      finished.map((label) => label.split(" ")[0]),
      ["heavy", "light", "heavy", "light", "heavy", "heavy", "heavy", "heavy", "heavy", "heavy"],
      finished.join(", "),
    );
  });

  test("when the queue is full the gateway answers 429 with Retry-After in OpenAI's envelope", async () => {
    const pending: Array<Promise<unknown>> = [];
    const sent = await withNeuronFrozen(async () => {
      // One job takes the slot, QUEUE_LIMIT wait, and the rest find the queue full.
      for (let index = 0; index < QUEUE_LIMIT + 4; index++)
        pending.push(ask("heavy", index).catch((error) => error));
      await settle();
      const outcomes = await Promise.race([Promise.all(pending), settle().then(() => null)]);
      assert.equal(outcomes, null, "while the neuron is frozen nothing finishes");
      return pending.length;
    });
    const outcomes = await Promise.all(pending);
    const errors = outcomes.filter((outcome) => outcome instanceof Error);
    assert.equal(sent, QUEUE_LIMIT + 4);
    assert.equal(errors.length, 3, `${errors.length} refused: ${errors.map(String).join("; ")}`);
    for (const error of errors) {
      assert.ok(error instanceof OpenAI.APIError, String(error));
      assert.equal(error.status, 429);
      assert.equal(error.code, "rate_limited");
      assert.ok(Number(error.headers?.get("retry-after")) >= 1);
    }
  });
  test("GET /metrics on the orchestrator reports what these jobs did, in Prometheus's text format", async () => {
    const response = await fetch(`${orchestratorUrl.replace(/^ws/, "http")}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const samples = new Map<string, number>();
    for (const line of (await response.text()).split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
      assert.ok(match, `a sample line: ${line}`);
      samples.set(match[1] ?? "", Number(match[2]));
    }
    const sample = (name: string) => samples.get(name) ?? Number.NaN;
    // 10 jobs in the first test and 11 served in the second; 3 refused while the queue was full.
    assert.equal(sample(`helexa_requests_total{model="${TEST_MODEL_ID}",status="completed"}`), 21);
    assert.equal(sample(`helexa_requests_total{model="${TEST_MODEL_ID}",status="rejected"}`), 3);
    assert.equal(sample(`helexa_time_to_first_token_seconds_count{model="${TEST_MODEL_ID}"}`), 21);
    assert.ok(sample(`helexa_queue_wait_seconds_count{model="${TEST_MODEL_ID}"}`) >= 21);
    assert.ok(sample(`helexa_tokens_total{model="${TEST_MODEL_ID}",kind="completion"}`) > 0);
    assert.equal(sample("helexa_queue_depth"), 0);
    assert.equal(sample('helexa_neurons_online{runtime="llama-cpp"}'), 1);
    assert.ok(sample('helexa_ledger_balance_microcredits{kind="platform_revenue"}') > 0);
  });
});

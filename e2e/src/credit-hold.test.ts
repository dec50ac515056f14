// SPDX-License-Identifier: PolyForm-Shield-1.0
// Concurrent requests cannot overdraw an account: holds are placed before jobs run, and the rest get 402.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { worstCaseCost } from "@helexa/cortex";
import { checkLedgerIntegrity, Ledger, openDatabase } from "@helexa/db";
import OpenAI from "openai";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { type HelexaProcess, startUp, waitUntil } from "./__fixtures__/helexa-process.js";

// Long enough that every hold is placed while the first jobs still run.
const MAX_TOKENS = 600;
/** Exactly what `helexa up` prices a model the catalog did not know, and the test model's context. */
const price = { contextLength: 2048, pricePromptPerMillion: 50_000, priceCompletionPerMillion: 100_000 };
const hold = worstCaseCost({ price, contextLength: 2048, maxTokens: MAX_TOKENS });
/** Room for two holds at once, not three. */
const credits = hold * 2 + Math.floor(hold / 2);

describe("credit holds under concurrent requests", () => {
  let fabric: HelexaProcess;
  let home: string;
  let client: OpenAI;

  before(async () => {
    const workspace = await makeTestWorkspace();
    home = workspace.home;
    const up = await startUp({
      home,
      modelPath: workspace.modelPath,
      environment: { HELEXA_LEDGER_INITIAL_CREDITS: String(credits) },
    });
    fabric = up.fabric;
    client = new OpenAI({ apiKey: up.apiKey, baseURL: `${up.gatewayUrl}/v1`, maxRetries: 0 });
  });

  after(async () => {
    await fabric?.stop("SIGKILL");
  });

  test("of five requests at once only the two that fit run; the others get 402 insufficient_quota", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, index) =>
        client.chat.completions.create({
          model: TEST_MODEL_ID,
          messages: [{ role: "user", content: `request ${index}` }],
          max_tokens: MAX_TOKENS,
          temperature: 0,
        }),
      ),
    );
    const served = results.filter((result) => result.status === "fulfilled");
    const refused = results.filter((result) => result.status === "rejected");
    assert.equal(served.length, 2);
    for (const result of refused) {
      const error = result.reason as InstanceType<typeof OpenAI.APIError>;
      assert.equal(error.status, 402);
      assert.equal(error.code, "insufficient_quota");
    }

    const exit = await fabric.stop("SIGINT");
    assert.equal(exit.code, 0);
    const { accountId } = JSON.parse(await readFile(join(home, "credentials.json"), "utf8"));
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
      const ledger = new Ledger({ db: database.db });
      const balance = await ledger.getBalance(accountId);
      await ledger.close();
      const spent = served.reduce((sum, result) => {
        const usage = result.status === "fulfilled" ? result.value.usage : undefined;
        return (
          sum +
          Math.ceil(((usage?.prompt_tokens ?? 0) * 50_000 + (usage?.completion_tokens ?? 0) * 100_000) / 1e6)
        );
      }, 0);
      assert.equal(balance.balance, credits - spent);
      assert.equal(balance.held, 0);
      assert.ok(balance.balance >= 0);
    } finally {
      await database.close();
    }
  });

  test("the neuron of helexa up does not outlive its parent, even one killed outright", async () => {
    const workspace = await makeTestWorkspace();
    const { fabric: parent, controlUrl } = await startUp(workspace);
    assert.equal((await fetch(`${controlUrl}/health`)).status, 200);
    await parent.stop("SIGKILL");
    await waitUntil(
      () =>
        fetch(`${controlUrl}/health`).then(
          () => false,
          () => true,
        ),
      10_000,
      "the orphaned neuron to exit",
    );
  });
});

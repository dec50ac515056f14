// SPDX-License-Identifier: PolyForm-Shield-1.0
// API key spend limits in the ledger: never exceeded under concurrency, on every path; spent tracks settlements.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { eq, sum } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { createApiKeyStore } from "./api-key-store.js";
import { checkLedgerIntegrity } from "./check-ledger-integrity.js";
import { Ledger } from "./ledger.js";
import type { DrizzleDatabase } from "./open-database.js";
import { apiKeys, jobs } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

async function customerWithKey(
  db: DrizzleDatabase,
  ledger: Ledger,
  options: { balance: number; spendLimit: number | null },
) {
  const account = await createAccountStore({ db }).createAccount({ name: "customer" });
  await ledger.grantCredits({ accountId: account.id, amount: options.balance, idempotencyKey: randomUUID() });
  await using keys = createApiKeyStore({ db });
  const key = await keys.createApiKey({ accountId: account.id, name: "k", spendLimit: options.spendLimit });
  const hold = (amount: number, jobId = randomUUID()) =>
    ledger.placeHold({ jobId, accountId: account.id, amount, job: { model: "m", apiKeyId: key.id } });
  const readKey = async () => (await db.select().from(apiKeys).where(eq(apiKeys.id, key.id)))[0]!;
  return { account, keyId: key.id, hold, readKey };
}

function isSpendLimitError(error: unknown): boolean {
  return (
    HelexaError.is(error) && error.code === "insufficient_quota" && /API key.*spend limit/.test(error.message)
  );
}

/** A database handle that counts the transactions opened through it. */
function countingTransactions(db: DrizzleDatabase) {
  const counter = { transactions: 0, db };
  counter.db = new Proxy(db, {
    get(target, property, receiver) {
      if (property !== "transaction") return Reflect.get(target, property, receiver);
      return (...parameters: Parameters<DrizzleDatabase["transaction"]>) => {
        counter.transactions += 1;
        return target.transaction(...parameters);
      };
    },
  });
  return counter;
}

describeOnEachBackend("Ledger API key spend limits", (backend) => {
  for (const mode of ["batched", "per-call"] as const) {
    backend.test(`24 concurrent holds on a key limited to 8 of them: exactly 8 (${mode})`, async ({ db }) => {
      await using ledger = new Ledger({ db, mode });
      const customer = await customerWithKey(db, ledger, {
        balance: 100 * credit,
        spendLimit: 8 * credit,
      });
      const results = await Promise.allSettled(Array.from({ length: 24 }, () => customer.hold(credit)));
      const refused = results.filter((result) => result.status === "rejected");
      assert.equal(results.length - refused.length, 8);
      for (const result of refused) assert.ok(isSpendLimitError(result.reason), String(result.reason));
      assert.equal((await ledger.getBalance(customer.account.id)).held, 8 * credit);
    });
  }

  backend.test("two ledgers (two cortex nodes) on one key never exceed its limit", async (database) => {
    await using first = new Ledger({ db: database.db });
    const customer = await customerWithKey(database.db, first, {
      balance: 50 * credit,
      spendLimit: 7 * credit,
    });
    await using other = database.kind === "postgres" ? await database.openAnother() : undefined;
    await using second = new Ledger({ db: other?.db ?? database.db });
    const calls = Array.from({ length: 20 }, (_, index) =>
      (index % 2 === 0 ? first : second).placeHold({
        jobId: randomUUID(),
        accountId: customer.account.id,
        amount: credit,
        job: { model: "m", apiKeyId: customer.keyId },
      }),
    );
    const results = await Promise.allSettled(calls);
    assert.equal(results.filter((result) => result.status === "fulfilled").length, 7);
  });

  backend.test("settling charges the key's spent, and the rest of the limit frees up", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const customer = await customerWithKey(db, ledger, { balance: 100 * credit, spendLimit: 10 * credit });
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await customer.hold(3 * credit, a);
    await customer.hold(3 * credit, b);
    await customer.hold(3 * credit, c);
    await assert.rejects(customer.hold(3 * credit), (error: unknown) => {
      // The figures, in credits: 10 allowed, 0 spent, 9 held, 3 asked.
      assert.ok(isSpendLimitError(error), String(error));
      assert.match(
        (error as Error).message,
        /may spend 10 credits, has spent 0 and has 9 held .* up to 3 credits/,
      );
      return true;
    });

    await ledger.settleHold({ jobId: a, cost: credit, operatorAccountId: null });
    assert.equal((await customer.readKey()).spent, credit);
    // 1 spent + 6 held + 3 = 10: exactly the limit.
    await customer.hold(3 * credit);
    await assert.rejects(customer.hold(1), isSpendLimitError);
    await ledger.releaseHold({ jobId: b });
    await customer.hold(3 * credit);
    await ledger.settleHold({ jobId: c, cost: 2 * credit + 1, operatorAccountId: null });

    const [settledCosts] = await db
      .select({ total: sum(jobs.cost) })
      .from(jobs)
      .where(eq(jobs.apiKeyId, customer.keyId));
    assert.equal((await customer.readKey()).spent, 3 * credit + 1);
    assert.equal(Number(settledCosts?.total), 3 * credit + 1);
    // Settling again charges nothing more.
    await ledger.settleHold({ jobId: c, cost: 2 * credit + 1, operatorAccountId: null });
    assert.equal((await customer.readKey()).spent, 3 * credit + 1);
  });

  backend.test("a settlement and a hold in one batch are checked in arrival order", async ({ db }) => {
    await using ledger = new Ledger({ db, flushWindowMs: 30 });
    const customer = await customerWithKey(db, ledger, { balance: 100 * credit, spendLimit: 10 * credit });
    const running = randomUUID();
    await customer.hold(5 * credit, running);
    // After the settlement, 1 spent + 0 held + 9 = 10 fits; before it, 5 held + 9 would not.
    const [settlement, hold] = await Promise.all([
      ledger.settleHold({ jobId: running, cost: credit, operatorAccountId: null }),
      customer.hold(9 * credit),
    ]);
    assert.equal(settlement.cost, credit);
    assert.equal(hold.amount, 9 * credit);
    await assert.rejects(customer.hold(1), isSpendLimitError);
  });

  backend.test("a hold alone in its flush is decided right on either path", async ({ db }) => {
    const counter = countingTransactions(db);
    await using ledger = new Ledger({ db: counter.db });
    const unlimited = await customerWithKey(db, ledger, { balance: 20 * credit, spendLimit: null });
    const limited = await customerWithKey(db, ledger, { balance: 20 * credit, spendLimit: 2 * credit });

    // A key without a limit keeps the one-statement path: no transaction is opened.
    counter.transactions = 0;
    for (let index = 0; index < 5; index += 1) await unlimited.hold(credit);
    assert.equal(counter.transactions, 0);

    // A key with a limit goes to the batch path, one hold at a time, and the limit holds exactly.
    counter.transactions = 0;
    await limited.hold(credit);
    await limited.hold(credit);
    await assert.rejects(limited.hold(1), isSpendLimitError);
    assert.equal(counter.transactions, 3);
    assert.equal((await ledger.getBalance(limited.account.id)).held, 2 * credit);
  });

  backend.test("a key without a limit is not limited, and its spent is still kept", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const customer = await customerWithKey(db, ledger, { balance: 30 * credit, spendLimit: null });
    const jobIds = Array.from({ length: 25 }, () => randomUUID());
    await Promise.all(jobIds.map((jobId) => customer.hold(credit, jobId)));
    await Promise.all(
      jobIds.map((jobId) => ledger.settleHold({ jobId, cost: 1_000, operatorAccountId: null })),
    );
    assert.equal((await customer.readKey()).spent, 25 * 1_000);
  });

  backend.test("a hold naming another account's key is refused on both paths", async ({ db }) => {
    await using ledger = new Ledger({ db, flushWindowMs: 20 });
    const owner = await customerWithKey(db, ledger, { balance: 10 * credit, spendLimit: null });
    const thief = await createAccountStore({ db }).createAccount({ name: "thief" });
    await ledger.grantCredits({ accountId: thief.id, amount: 10 * credit, idempotencyKey: randomUUID() });
    const borrowKey = () =>
      ledger.placeHold({
        jobId: randomUUID(),
        accountId: thief.id,
        amount: credit,
        job: { model: "m", apiKeyId: owner.keyId },
      });
    // Alone (the one-statement path hands it to the batch), then in company.
    await assert.rejects(borrowKey(), { code: "invalid_request" });
    const [alongside, borrowed] = await Promise.allSettled([owner.hold(credit), borrowKey()]);
    assert.equal(alongside.status, "fulfilled");
    assert.equal(borrowed.status === "rejected" && borrowed.reason.code, "invalid_request");
    assert.equal((await ledger.getBalance(thief.id)).held, 0);
    assert.deepEqual(await checkLedgerIntegrity({ db }), {
      unbalancedTransactions: 0,
      mismatchedBalances: 0,
    });
  });
});

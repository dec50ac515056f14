// SPDX-License-Identifier: PolyForm-Shield-1.0
// The ledger's promises: no overdraft under concurrency, exact splits, idempotent settlement, balanced books.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { count, eq, sql } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { checkLedgerIntegrity } from "./check-ledger-integrity.js";
import { createJobStore } from "./job-store.js";
import { Ledger } from "./ledger.js";
import type { DrizzleDatabase } from "./open-database.js";
import { holds, ledgerTransactions, usageRecords } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

async function fundedAccount(db: DrizzleDatabase, ledger: Ledger, amount: number) {
  const account = await createAccountStore({ db }).createAccount({ name: "customer" });
  if (amount > 0)
    await ledger.grantCredits({ accountId: account.id, amount, idempotencyKey: `test:${randomUUID()}` });
  return account;
}

function isQuotaError(error: unknown): boolean {
  return HelexaError.is(error) && error.code === "insufficient_quota";
}

describeOnEachBackend("Ledger", (backend) => {
  backend.test("grants once per idempotency key", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const account = await fundedAccount(db, ledger, 0);
    const first = await ledger.grantCredits({
      accountId: account.id,
      amount: 5 * credit,
      idempotencyKey: "stripe:evt_1",
    });
    const again = await ledger.grantCredits({
      accountId: account.id,
      amount: 5 * credit,
      idempotencyKey: "stripe:evt_1",
    });
    assert.equal(first.alreadyApplied, false);
    assert.equal(again.alreadyApplied, true);
    assert.equal(again.transactionId, first.transactionId);
    assert.deepEqual(await ledger.getBalance(account.id), {
      balance: 5 * credit,
      held: 0,
      available: 5 * credit,
    });
  });

  backend.test(
    "a grant that would take a balance past 2^53 is refused and changes nothing",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const account = await fundedAccount(db, ledger, 10);
      await assert.rejects(
        ledger.grantCredits({
          accountId: account.id,
          amount: Number.MAX_SAFE_INTEGER,
          idempotencyKey: randomUUID(),
        }),
        { code: "invalid_request" },
      );
      assert.equal((await ledger.getBalance(account.id)).balance, 10);
    },
  );

  for (const mode of ["batched", "per-call"] as const) {
    backend.test(`50 concurrent holds on credit for 20: exactly 20 succeed (${mode})`, async ({ db }) => {
      await using ledger = new Ledger({ db, mode });
      const holdAmount = 3 * credit;
      const account = await fundedAccount(db, ledger, 20 * holdAmount);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () =>
          ledger.placeHold({ jobId: randomUUID(), accountId: account.id, amount: holdAmount }),
        ),
      );
      const placed = results.filter((result) => result.status === "fulfilled");
      const refused = results.filter((result) => result.status === "rejected");
      assert.equal(placed.length, 20);
      assert.equal(refused.length, 30);
      for (const result of refused) assert.ok(isQuotaError(result.reason), String(result.reason));
      assert.deepEqual(await ledger.getBalance(account.id), {
        balance: 20 * holdAmount,
        held: 20 * holdAmount,
        available: 0,
      });
    });
  }

  backend.test(
    "concurrent calls share transactions in batched mode and do not in per-call mode",
    async ({ db }) => {
      const countTransactions = () => {
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
      };
      const batchedCounter = countTransactions();
      const perCallCounter = countTransactions();
      await using batched = new Ledger({ db: batchedCounter.db });
      await using perCall = new Ledger({ db: perCallCounter.db, mode: "per-call" });
      const account = await fundedAccount(db, batched, 100 * credit);
      const calls = (ledger: Ledger) =>
        Promise.all(
          Array.from({ length: 50 }, () =>
            ledger.placeHold({ jobId: randomUUID(), accountId: account.id, amount: 1 }),
          ),
        );
      batchedCounter.transactions = 0;
      await calls(batched);
      await calls(perCall);
      assert.ok(batchedCounter.transactions <= 2, `batched used ${batchedCounter.transactions} transactions`);
      assert.equal(perCallCounter.transactions, 50);
    },
  );

  backend.test(
    "a hold alone in its flush takes the one-statement path with the same rules",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const account = await fundedAccount(db, ledger, 3 * credit);
      const jobIds = [randomUUID(), randomUUID(), randomUUID()];
      // One at a time: each is alone in its flush.
      for (const jobId of jobIds) {
        const hold = await ledger.placeHold({
          jobId,
          accountId: account.id,
          amount: credit,
          job: { model: "m" },
        });
        assert.equal(hold.status, "active");
        assert.ok(hold.ledgerAccountId.length > 0);
      }
      await assert.rejects(
        ledger.placeHold({ jobId: randomUUID(), accountId: account.id, amount: 1 }),
        (error: unknown) => isQuotaError(error) && /0 are available/.test((error as Error).message),
      );
      // Placing the same job's hold again is answered with the hold it has, not a second one.
      const again = await ledger.placeHold({ jobId: jobIds[0]!, accountId: account.id, amount: credit });
      assert.equal(again.jobId, jobIds[0]);
      assert.deepEqual(await ledger.getBalance(account.id), {
        balance: 3 * credit,
        held: 3 * credit,
        available: 0,
      });
      const job = await createJobStore({ db }).getJob(jobIds[1]!);
      assert.equal(job?.status, "running");
      assert.equal(job?.holdAmount, credit);
      await ledger.settleHold({ jobId: jobIds[1]!, cost: 10, operatorAccountId: null });
      assert.deepEqual(await checkLedgerIntegrity({ db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
    },
  );

  backend.test("two ledgers (two cortex nodes) on one account never overdraw it", async (database) => {
    await using first = new Ledger({ db: database.db });
    const account = await fundedAccount(database.db, first, 10 * credit);
    // On PostgreSQL the second node has its own connection pool; PGlite has one process, so it shares.
    await using other = database.kind === "postgres" ? await database.openAnother() : undefined;
    await using second = new Ledger({ db: other?.db ?? database.db });
    const calls = Array.from({ length: 40 }, (_, index) =>
      (index % 2 === 0 ? first : second).placeHold({
        jobId: randomUUID(),
        accountId: account.id,
        amount: credit,
      }),
    );
    const results = await Promise.allSettled(calls);
    assert.equal(results.filter((result) => result.status === "fulfilled").length, 10);
    assert.equal((await first.getBalance(account.id)).available, 0);
  });

  backend.test("settlement splits 70/30 exactly, records the job, and is idempotent", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const customer = await fundedAccount(db, ledger, 10 * credit);
    const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
    const jobId = randomUUID();
    await ledger.placeHold({ jobId, accountId: customer.id, amount: 4 * credit, job: { model: "tiny" } });

    const settleInput = {
      jobId,
      cost: 1 * credit,
      operatorAccountId: operator.id,
      promptTokens: 12,
      completionTokens: 34,
      neuronId: "neuron-1",
    };
    const settlement = await ledger.settleHold(settleInput);
    assert.deepEqual(
      { ...settlement, transactionId: typeof settlement.transactionId },
      {
        jobId,
        cost: credit,
        operatorAmount: 700_000,
        platformAmount: 300_000,
        transactionId: "string",
        alreadySettled: false,
      },
    );
    const afterFirst = await ledger.getBalance(customer.id);
    assert.deepEqual(afterFirst, { balance: 9 * credit, held: 0, available: 9 * credit });
    assert.equal((await ledger.getBalance(operator.id, { kind: "operator_earnings" })).balance, 700_000);

    const [again, concurrentAgain] = await Promise.all([
      ledger.settleHold({ ...settleInput, cost: 2 * credit }),
      ledger.settleHold(settleInput),
    ]);
    for (const repeat of [again, concurrentAgain]) {
      assert.deepEqual(repeat, { ...settlement, alreadySettled: true });
    }
    assert.deepEqual(await ledger.getBalance(customer.id), afterFirst);
    assert.equal((await ledger.getBalance(operator.id, { kind: "operator_earnings" })).balance, 700_000);

    const transactions = await db
      .select({ count: count() })
      .from(ledgerTransactions)
      .where(eq(ledgerTransactions.idempotencyKey, `job:${jobId}`));
    assert.equal(transactions[0]?.count, 1);
    const job = await createJobStore({ db }).getJob(jobId);
    assert.equal(job?.status, "completed");
    assert.equal(job?.cost, credit);
    assert.equal(job?.promptTokens, 12);
    assert.equal(job?.completionTokens, 34);
    assert.equal(job?.neuronId, "neuron-1");
    assert.ok(job?.finishedAt instanceof Date);
    const usage = await db.select().from(usageRecords).where(eq(usageRecords.jobId, jobId));
    assert.equal(usage.length, 1);
    assert.equal(usage[0]?.cost, credit);
    assert.equal(usage[0]?.completionTokens, 34);
  });

  backend.test(
    "the operator's share is rounded down and the platform keeps the remainder",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const customer = await fundedAccount(db, ledger, credit);
      const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
      const jobId = randomUUID();
      await ledger.placeHold({ jobId, accountId: customer.id, amount: 1_000 });
      const settlement = await ledger.settleHold({ jobId, cost: 333, operatorAccountId: operator.id });
      assert.equal(settlement.operatorAmount, 233);
      assert.equal(settlement.platformAmount, 100);
    },
  );

  backend.test(
    "a job served by several neurons pays each operator its share of its own part, clamped parts shrinking in proportion",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const customer = await fundedAccount(db, ledger, 10 * credit);
      const accounts = createAccountStore({ db });
      const first = await accounts.createAccount({ name: "first operator" });
      const second = await accounts.createAccount({ name: "second operator" });
      const earned = async (accountId: string) =>
        (await ledger.getBalance(accountId, { kind: "operator_earnings" })).balance;

      const jobId = randomUUID();
      await ledger.placeHold({ jobId, accountId: customer.id, amount: 2_000 });
      const settlement = await ledger.settleHold({
        jobId,
        cost: 1_000,
        operatorAccountId: second.id,
        servedBy: [
          { operatorAccountId: first.id, cost: 600 },
          { operatorAccountId: null, cost: 100 },
          { operatorAccountId: second.id, cost: 300 },
        ],
      });
      assert.equal(settlement.cost, 1_000);
      assert.equal(await earned(first.id), 420, "70% of its 600");
      assert.equal(await earned(second.id), 210, "70% of its 300");
      assert.equal(settlement.operatorAmount, 630);
      assert.equal(
        settlement.platformAmount,
        370,
        "the platform keeps the rest, and all of the part it served",
      );

      const clamped = randomUUID();
      await ledger.placeHold({ jobId: clamped, accountId: customer.id, amount: 500 });
      const cut = await ledger.settleHold({
        jobId: clamped,
        cost: 1_000,
        operatorAccountId: null,
        servedBy: [
          { operatorAccountId: first.id, cost: 500 },
          { operatorAccountId: first.id, cost: 500 },
        ],
      });
      assert.equal(cut.cost, 500);
      assert.equal(cut.operatorAmount, 350, "two parts of 250, one earnings account");
      assert.equal(await earned(first.id), 420 + 350);
      assert.deepEqual(await checkLedgerIntegrity({ db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
    },
  );

  backend.test("a cost above the hold is clamped to the hold", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const customer = await fundedAccount(db, ledger, 10 * credit);
    const jobId = randomUUID();
    await ledger.placeHold({ jobId, accountId: customer.id, amount: 2 * credit });
    const settlement = await ledger.settleHold({ jobId, cost: 5 * credit, operatorAccountId: null });
    assert.equal(settlement.cost, 2 * credit);
    assert.equal(settlement.operatorAmount, 0);
    assert.equal(settlement.platformAmount, 2 * credit);
    assert.deepEqual(await ledger.getBalance(customer.id), {
      balance: 8 * credit,
      held: 0,
      available: 8 * credit,
    });
  });

  backend.test(
    "release frees the hold; settle after release and unknown jobs are refused",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const customer = await fundedAccount(db, ledger, 10 * credit);
      const jobId = randomUUID();
      await ledger.placeHold({ jobId, accountId: customer.id, amount: 6 * credit, job: { model: "tiny" } });
      assert.equal((await ledger.getBalance(customer.id)).available, 4 * credit);
      const release = await ledger.releaseHold({ jobId, status: "cancelled" });
      assert.deepEqual(release, { jobId, outcome: "released", releasedAmount: 6 * credit, jobMarked: true });
      assert.equal((await ledger.releaseHold({ jobId })).outcome, "already_released");
      assert.deepEqual(await ledger.getBalance(customer.id), {
        balance: 10 * credit,
        held: 0,
        available: 10 * credit,
      });
      assert.equal((await createJobStore({ db }).getJob(jobId))?.status, "cancelled");

      await assert.rejects(ledger.settleHold({ jobId, cost: 1, operatorAccountId: null }), {
        code: "invalid_request",
      });
      await assert.rejects(ledger.settleHold({ jobId: randomUUID(), cost: 1, operatorAccountId: null }), {
        code: "not_found",
      });
      assert.equal((await ledger.releaseHold({ jobId: randomUUID() })).outcome, "no_hold");
    },
  );

  backend.test("one bad call in a batch fails alone", async ({ db }) => {
    await using ledger = new Ledger({ db, flushWindowMs: 20 });
    const customer = await fundedAccount(db, ledger, 10 * credit);
    const [good, unknownAccount, tooLarge, duplicateFirst, duplicateSecond] = await Promise.allSettled([
      ledger.placeHold({ jobId: randomUUID(), accountId: customer.id, amount: credit }),
      ledger.placeHold({ jobId: randomUUID(), accountId: randomUUID(), amount: credit }),
      ledger.placeHold({ jobId: randomUUID(), accountId: customer.id, amount: 100 * credit }),
      ledger.placeHold({ jobId: "same-job", accountId: customer.id, amount: credit }),
      ledger.placeHold({ jobId: "same-job", accountId: customer.id, amount: 2 * credit }),
    ]);
    assert.equal(good.status, "fulfilled");
    assert.equal(unknownAccount.status === "rejected" && unknownAccount.reason.code, "not_found");
    assert.equal(tooLarge.status === "rejected" && tooLarge.reason.code, "insufficient_quota");
    assert.equal(duplicateFirst.status, "fulfilled");
    assert.equal(duplicateSecond.status === "rejected" && duplicateSecond.reason.code, "invalid_request");
    assert.equal((await ledger.getBalance(customer.id)).held, 2 * credit);
  });

  backend.test("a batch the database rejects is retried call by call", async ({ db }) => {
    await using ledger = new Ledger({ db, flushWindowMs: 20 });
    const customer = await fundedAccount(db, ledger, 10 * credit);
    // The job record's foreign key to api_keys fails in the database, not in the ledger's own checks.
    const [good, broken] = await Promise.allSettled([
      ledger.placeHold({
        jobId: randomUUID(),
        accountId: customer.id,
        amount: credit,
        job: { model: "tiny" },
      }),
      ledger.placeHold({
        jobId: randomUUID(),
        accountId: customer.id,
        amount: credit,
        job: { model: "tiny", apiKeyId: "no-such-key" },
      }),
    ]);
    assert.equal(good.status, "fulfilled");
    assert.equal(broken.status === "rejected" && broken.reason.code, "internal");
    assert.equal((await ledger.getBalance(customer.id)).held, credit);
  });

  backend.test("invalid amounts are refused before they reach the database", async ({ db }) => {
    await using ledger = new Ledger({ db });
    for (const amount of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      await assert.rejects(ledger.placeHold({ jobId: randomUUID(), accountId: "any", amount }), {
        code: "invalid_request",
      });
    }
    await assert.rejects(
      ledger.settleHold({ jobId: "job", cost: 1, operatorAccountId: null, operatorShare: 1.5 }),
      { code: "invalid_request" },
    );
  });

  backend.test("the books balance after a mixed concurrent workload", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const accountStore = createAccountStore({ db });
    const customers = await Promise.all(
      Array.from({ length: 3 }, () => accountStore.createAccount({ name: "customer" })),
    );
    const operators = await Promise.all(
      Array.from({ length: 2 }, () => accountStore.createAccount({ name: "operator" })),
    );
    for (const customer of customers) {
      await ledger.grantCredits({
        accountId: customer.id,
        amount: 7 * credit + 13,
        idempotencyKey: randomUUID(),
      });
    }
    const work = Array.from({ length: 90 }, async (_, index) => {
      const customer = customers[index % customers.length]!;
      const jobId = randomUUID();
      try {
        await ledger.placeHold({
          jobId,
          accountId: customer.id,
          amount: 250_001 + index,
          job: { model: "tiny" },
        });
      } catch (error) {
        if (isQuotaError(error)) return;
        throw error;
      }
      if (index % 5 === 0) return ledger.releaseHold({ jobId });
      if (index % 7 === 0) return; // still running
      const operator = index % 3 === 0 ? null : operators[index % operators.length]!;
      return ledger.settleHold({ jobId, cost: 1_000 * index + 7, operatorAccountId: operator?.id ?? null });
    });
    await Promise.all(work);
    assert.deepEqual(await checkLedgerIntegrity({ db }), {
      unbalancedTransactions: 0,
      mismatchedBalances: 0,
    });
    const activeHolds = await db.select({ count: count() }).from(holds).where(eq(holds.status, "active"));
    assert.ok((activeHolds[0]?.count ?? 0) > 0, "some holds are still active, so held is checked too");
  });

  backend.test("the integrity check notices tampering", async ({ db }) => {
    // Tamper inside a transaction that is rolled back, so the shared database stays clean.
    const rollback = new Error("rollback");
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.execute(sql`update ledger_accounts set balance = balance + 1 where id = 'platform_revenue'`);
        const [transaction] = await tx
          .select({ id: ledgerTransactions.id })
          .from(ledgerTransactions)
          .limit(1);
        await tx.execute(
          sql`update ledger_entries set amount = amount * 2 where id = (select min(id) from ledger_entries where transaction_id = ${transaction!.id})`,
        );
        const report = await checkLedgerIntegrity({ db: tx });
        assert.equal(report.unbalancedTransactions, 1);
        assert.ok(report.mismatchedBalances >= 1);
        throw rollback;
      }),
      rollback,
    );
  });
});

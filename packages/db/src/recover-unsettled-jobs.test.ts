// SPDX-License-Identifier: PolyForm-Shield-1.0
// Recovery after a crash: holds and running jobs from before the cutoff are released and failed, nothing billed.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createAccountStore } from "./account-store.js";
import { checkLedgerIntegrity } from "./check-ledger-integrity.js";
import { createJobStore } from "./job-store.js";
import { Ledger } from "./ledger.js";
import { recoverUnsettledJobs } from "./recover-unsettled-jobs.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

describeOnEachBackend("recoverUnsettledJobs", (backend) => {
  backend.test("releases what a dead cortex left behind and leaves the rest alone", async ({ db }) => {
    const crashed = new Ledger({ db });
    const jobStore = createJobStore({ db });
    const customer = await createAccountStore({ db }).createAccount({ name: "customer" });
    await crashed.grantCredits({ accountId: customer.id, amount: 10 * credit, idempotencyKey: randomUUID() });

    const [withRecord, holdOnly, recordOnly, settled, afterCutoff] = Array.from({ length: 5 }, () =>
      randomUUID(),
    );
    await crashed.placeHold({
      jobId: withRecord!,
      accountId: customer.id,
      amount: 2 * credit,
      job: { model: "tiny" },
    });
    await crashed.placeHold({ jobId: holdOnly!, accountId: customer.id, amount: credit });
    await jobStore.recordJobStart({
      jobId: recordOnly!,
      accountId: customer.id,
      model: "tiny",
      holdAmount: credit,
    });
    await crashed.placeHold({
      jobId: settled!,
      accountId: customer.id,
      amount: credit,
      job: { model: "tiny" },
    });
    await crashed.settleHold({ jobId: settled!, cost: 500_000, operatorAccountId: null });
    await crashed.close();

    await sleep(5);
    const cutoff = new Date();
    await sleep(5);
    await using survivor = new Ledger({ db });
    await survivor.placeHold({
      jobId: afterCutoff!,
      accountId: customer.id,
      amount: 3 * credit,
      job: { model: "tiny" },
    });

    const report = await recoverUnsettledJobs({ db, ledger: survivor, startedBefore: cutoff });
    assert.deepEqual([...report.jobIds].sort(), [withRecord, holdOnly, recordOnly].sort());
    assert.equal(report.releasedHolds, 2);
    assert.equal(report.failedJobs, 2);

    assert.deepEqual(await survivor.getBalance(customer.id), {
      balance: 10 * credit - 500_000,
      held: 3 * credit,
      available: 7 * credit - 500_000,
    });
    for (const jobId of [withRecord!, recordOnly!]) {
      const job = await jobStore.getJob(jobId);
      assert.equal(job?.status, "failed");
      assert.equal(job?.cost, 0);
      assert.ok(job?.finishedAt instanceof Date);
    }
    assert.equal((await jobStore.getJob(settled!))?.status, "completed");
    assert.equal((await jobStore.getJob(afterCutoff!))?.status, "running");
    assert.deepEqual(
      (await jobStore.listUsage({ accountId: customer.id })).map((usage) => usage.jobId),
      [settled],
    );

    const again = await recoverUnsettledJobs({ db, ledger: survivor, startedBefore: cutoff });
    assert.deepEqual(again, { releasedHolds: 0, failedJobs: 0, jobIds: [] });
    assert.deepEqual(await checkLedgerIntegrity({ db }), {
      unbalancedTransactions: 0,
      mismatchedBalances: 0,
    });
  });
});

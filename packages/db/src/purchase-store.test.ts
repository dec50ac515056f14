// SPDX-License-Identifier: PolyForm-Shield-1.0
// Purchases: every event handled once, every purchase credited at most once, whatever order events come in.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { checkLedgerIntegrity } from "./check-ledger-integrity.js";
import { Ledger } from "./ledger.js";
import type { DrizzleDatabase } from "./open-database.js";
import { createPurchaseStore, type PaymentEventInput } from "./purchase-store.js";
import { ledgerTransactions, paymentEvents } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

async function setUp(db: DrizzleDatabase, ledger: Ledger, options: { provider?: "stripe" | "dev" } = {}) {
  const account = await createAccountStore({ db }).createAccount({ name: "buyer" });
  const store = createPurchaseStore({ db, ledger });
  const purchase = await store.createPurchase({
    id: `cs_${randomUUID()}`,
    provider: options.provider ?? "stripe",
    accountId: account.id,
    packId: "starter",
    credits: 25 * credit,
    priceAmount: 2_500,
    currency: "usd",
  });
  const event = (type: PaymentEventInput["type"], eventId = `evt_${randomUUID()}`): PaymentEventInput => ({
    eventId,
    provider: purchase.provider,
    type,
    purchaseId: purchase.id,
  });
  const balance = async () => (await ledger.getBalance(account.id)).balance;
  return { account, store, purchase, event, balance };
}

async function eventOutcome(db: DrizzleDatabase, eventId: string) {
  const [row] = await db.select().from(paymentEvents).where(eq(paymentEvents.id, eventId));
  return row?.outcome;
}

describeOnEachBackend("PurchaseStore", (backend) => {
  backend.test(
    "a completed checkout credits once; replays and later events change nothing",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const { account, store, purchase, event, balance } = await setUp(db, ledger);
      assert.equal(purchase.status, "pending");
      assert.equal(purchase.credits, 25 * credit);

      const completed = event("checkout.completed");
      assert.deepEqual(await store.handlePaymentEvent(completed), { outcome: "credited" });
      assert.equal(await balance(), 25 * credit);
      const paid = await store.getPurchase(purchase.id);
      assert.equal(paid?.status, "paid");
      assert.ok(paid?.paidAt instanceof Date);
      const [transaction] = await db
        .select()
        .from(ledgerTransactions)
        .where(eq(ledgerTransactions.idempotencyKey, `purchase:${purchase.id}`));
      assert.equal(transaction?.id, paid?.ledgerTransactionId);
      assert.equal(transaction?.kind, "purchase");
      assert.equal(transaction?.description, "Bought starter (stripe)");
      assert.equal(await eventOutcome(db, completed.eventId), "credited");

      assert.deepEqual(await store.handlePaymentEvent(completed), { outcome: "already_handled" });
      assert.deepEqual(await store.handlePaymentEvent(event("checkout.completed")), {
        outcome: "already_paid",
      });
      const lateExpiry = event("checkout.expired");
      assert.deepEqual(await store.handlePaymentEvent(lateExpiry), { outcome: "ignored_paid" });
      assert.equal(await eventOutcome(db, lateExpiry.eventId), "ignored_paid");
      assert.equal(await balance(), 25 * credit);
      assert.equal((await store.getPurchase(purchase.id))?.status, "paid");
      assert.equal((await store.listPurchases(account.id)).length, 1);
    },
  );

  backend.test("a completion after an expiry still credits: the money was taken", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const { store, purchase, event, balance } = await setUp(db, ledger, { provider: "dev" });
    assert.deepEqual(await store.handlePaymentEvent(event("checkout.expired")), { outcome: "expired" });
    assert.equal((await store.getPurchase(purchase.id))?.status, "expired");
    assert.equal(await balance(), 0);
    assert.deepEqual(await store.handlePaymentEvent(event("checkout.completed")), { outcome: "credited" });
    assert.equal((await store.getPurchase(purchase.id))?.status, "paid");
    assert.equal(await balance(), 25 * credit);
  });

  backend.test(
    "unknown purchases, and another provider's, credit nothing and stay unhandled for a later retry",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const { store, event, balance } = await setUp(db, ledger, { provider: "stripe" });
      const unknown = { ...event("checkout.completed"), purchaseId: "cs_missing" };
      assert.deepEqual(await store.handlePaymentEvent(unknown), { outcome: "unknown_purchase" });
      assert.equal(await eventOutcome(db, unknown.eventId), undefined, "not recorded: a retry may pay it");
      // A dev checkout event must never pay for a Stripe purchase.
      const forged = { ...event("checkout.completed"), provider: "dev" as const };
      assert.deepEqual(await store.handlePaymentEvent(forged), { outcome: "unknown_purchase" });
      assert.equal(await balance(), 0);
      assert.equal(await store.getPurchase("cs_missing"), null);
    },
  );

  backend.test("many events at once, new and replayed, credit exactly once", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const { store, event, balance } = await setUp(db, ledger);
    const distinct = Array.from({ length: 4 }, () => event("checkout.completed"));
    const deliveries = [...distinct, ...distinct, event("checkout.expired")];
    const outcomes = (
      await Promise.all(deliveries.map((delivery) => store.handlePaymentEvent(delivery)))
    ).map((result) => result.outcome);
    assert.equal(outcomes.filter((outcome) => outcome === "credited").length, 1);
    assert.equal(outcomes.filter((outcome) => outcome === "already_handled").length, 4);
    assert.equal(await balance(), 25 * credit);
    assert.deepEqual(await checkLedgerIntegrity({ db }), {
      unbalancedTransactions: 0,
      mismatchedBalances: 0,
    });
  });

  backend.test(
    "an event whose grant fails leaves nothing behind, so its retry is handled",
    async ({ db }) => {
      await using ledger = new Ledger({ db });
      const { account, store, event, balance } = await setUp(db, ledger);
      await ledger.grantCredits({ accountId: account.id, amount: 10, idempotencyKey: randomUUID() });
      // Credits that would take the balance past the largest exact amount: the grant refuses them.
      const huge = await store.createPurchase({
        id: `cs_${randomUUID()}`,
        provider: "stripe",
        accountId: account.id,
        packId: "huge",
        credits: Number.MAX_SAFE_INTEGER,
        priceAmount: 1,
        currency: "usd",
      });
      const completed = { ...event("checkout.completed"), purchaseId: huge.id };
      await assert.rejects(store.handlePaymentEvent(completed), { code: "invalid_request" });
      assert.equal(await eventOutcome(db, completed.eventId), undefined);
      assert.equal((await store.getPurchase(huge.id))?.status, "pending");
      assert.equal(await balance(), 10);
    },
  );

  backend.test("purchases are listed newest first and checked on the way in", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const { account, store, purchase } = await setUp(db, ledger);
    const second = await store.createPurchase({
      id: `cs_${randomUUID()}`,
      provider: "stripe",
      accountId: account.id,
      packId: "pro",
      credits: 100 * credit,
      priceAmount: 9_000,
      currency: "usd",
    });
    assert.deepEqual(
      (await store.listPurchases(account.id)).map((row) => row.id),
      [second.id, purchase.id],
    );
    assert.deepEqual(
      (await store.listPurchases(account.id, { limit: 1 })).map((row) => row.id),
      [second.id],
    );
    await assert.rejects(store.createPurchase({ ...second, id: `cs_${randomUUID()}`, credits: 0 }), {
      code: "invalid_request",
    });
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Stripe Checkout and its webhook: signed events credit a purchase once, whatever the order or the replays.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before } from "node:test";
import { checkLedgerIntegrity, type Purchase } from "@helexa/db";
import { describeOnEachBackend, type TestDatabase } from "@helexa/db/test";
import Stripe from "stripe";
import { defaultCreditPacks } from "./credit-packs.js";
import { createStripePaymentProvider, handleStripeWebhook } from "./stripe-payments.js";
import {
  createPortalFixture,
  type PortalCaller,
  type PortalFixture,
  portalUrl,
} from "./testing/portal-fixture.js";

const webhookSecret = "whsec_test_helexa";
const scale = defaultCreditPacks.find((pack) => pack.id === "scale")!;

/**
 * The one fake in these tests: Stripe's servers. A local HTTP server answers the Checkout Session
 * creation the real `stripe` client sends, so nothing calls Stripe's API; events are signed with the
 * `stripe` package's own test helper and checked by the real verification.
 */
async function startFakeStripeApi(): Promise<{ server: Server; port: number; requests: URLSearchParams[] }> {
  const requests: URLSearchParams[] = [];
  let sessions = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      response.setHeader("content-type", "application/json");
      if (request.method !== "POST" || request.url !== "/v1/checkout/sessions") {
        response.statusCode = 404;
        response.end(JSON.stringify({ error: { type: "invalid_request_error", message: "not faked" } }));
        return;
      }
      requests.push(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      sessions += 1;
      const id = `cs_test_fake_${sessions}`;
      response.end(
        JSON.stringify({ id, object: "checkout.session", url: `https://checkout.stripe.test/c/pay/${id}` }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

function signedEvent(event: {
  id: string;
  type: string;
  session: { id: string; payment_status?: string; metadata?: Record<string, string> };
}): {
  rawBody: Buffer;
  signature: string;
} {
  const payload = JSON.stringify({
    id: event.id,
    object: "event",
    api_version: "2025-01-27.acacia",
    created: Math.floor(Date.now() / 1000),
    type: event.type,
    data: { object: { object: "checkout.session", payment_status: "paid", ...event.session } },
  });
  return {
    rawBody: Buffer.from(payload),
    signature: Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret }),
  };
}

let fakeApi: Awaited<ReturnType<typeof startFakeStripeApi>>;
before(async () => {
  fakeApi = await startFakeStripeApi();
});
after(() => new Promise((resolve) => fakeApi.server.close(resolve)));

// The money path runs on both backends: PostgreSQL is where concurrent deliveries really race.
describeOnEachBackend("Stripe payments", (backend) => {
  let fixture: PortalFixture;
  let buyer: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let asBuyer: PortalCaller;
  let purchaseCount = 0;
  let requestsBefore = 0;
  let checkoutPurchaseId = "";

  /** The suite's fixture over the backend's database, made by the first test. */
  async function setUp(database: TestDatabase): Promise<void> {
    if (fixture) return;
    const client = new Stripe("sk_test_fake", {
      host: "127.0.0.1",
      port: fakeApi.port,
      protocol: "http",
      maxNetworkRetries: 0,
      telemetry: false,
    });
    fixture = await createPortalFixture({
      database,
      payments: createStripePaymentProvider({ secretKey: "sk_test_fake", client }),
    });
    buyer = await fixture.signUp({ email: "buyer@example.com" });
    asBuyer = await fixture.caller(buyer.sessionId);
  }
  after(() => fixture?.close());

  const webhook = (event: Parameters<typeof signedEvent>[0]) =>
    handleStripeWebhook({
      ...signedEvent(event),
      webhookSecret,
      purchases: fixture.services.purchases,
      creditPacks: defaultCreditPacks,
    });

  async function pendingPurchase(): Promise<Purchase> {
    purchaseCount += 1;
    return fixture.services.purchases.createPurchase({
      id: `cs_test_pending_${purchaseCount}`,
      provider: "stripe",
      accountId: buyer.account.id,
      packId: scale.id,
      credits: scale.credits,
      priceAmount: scale.priceAmount,
      currency: scale.currency,
    });
  }

  const balance = async () => (await fixture.services.ledger.getBalance(buyer.account.id)).balance;
  const statusOf = async (id: string) => (await fixture.services.purchases.getPurchase(id))?.status;

  backend.test(
    "checkout creates a Checkout Session for the pack and records the purchase as pending",
    async (database) => {
      await setUp(database);
      requestsBefore = fakeApi.requests.length;
      const { purchaseId, url } = await asBuyer.billing.checkout({ packId: "scale" });
      checkoutPurchaseId = purchaseId;
      assert.match(purchaseId, /^cs_test_fake_\d+$/);
      assert.equal(url, `https://checkout.stripe.test/c/pay/${purchaseId}`);
      assert.equal(fakeApi.requests.length, requestsBefore + 1, "one request reached the (fake) Stripe API");
      const sent = fakeApi.requests[requestsBefore]!;
      assert.equal(sent.get("mode"), "payment");
      assert.equal(sent.get("client_reference_id"), buyer.account.id);
      assert.equal(sent.get("customer_email"), "buyer@example.com");
      assert.equal(sent.get("line_items[0][price_data][unit_amount]"), String(scale.priceAmount));
      assert.equal(sent.get("line_items[0][price_data][currency]"), "usd");
      assert.equal(sent.get("metadata[packId]"), "scale");
      assert.equal(sent.get("success_url"), `${portalUrl}/credits?purchase={CHECKOUT_SESSION_ID}`);
      const purchase = await fixture.services.purchases.getPurchase(purchaseId);
      assert.equal(purchase?.provider, "stripe");
      assert.equal(purchase?.status, "pending");
      assert.equal(purchase?.credits, scale.credits);
    },
  );

  backend.test("the dev pay button is refused on a Stripe install", async (database) => {
    await setUp(database);
    await assert.rejects(asBuyer.billing.devPay({ id: checkoutPurchaseId }), {
      name: "TRPCError",
      code: "FORBIDDEN",
    });
    assert.equal(await statusOf(checkoutPurchaseId), "pending");
  });

  backend.test(
    "credits a paid checkout once: replays and other events for the same session change nothing",
    async (database) => {
      await setUp(database);
      const purchase = await pendingPurchase();
      const start = await balance();
      const completed = {
        id: "evt_completed_1",
        type: "checkout.session.completed",
        session: { id: purchase.id },
      };

      assert.deepEqual(await webhook(completed), { status: 200, outcome: "credited" });
      assert.equal(await balance(), start + scale.credits);
      assert.equal(await statusOf(purchase.id), "paid");

      assert.deepEqual(await webhook(completed), { status: 200, outcome: "already_handled" });
      assert.deepEqual(await webhook({ ...completed, id: "evt_completed_1_again" }), {
        status: 200,
        outcome: "already_paid",
      });
      assert.deepEqual(
        await webhook({
          id: "evt_expired_1",
          type: "checkout.session.expired",
          session: { id: purchase.id },
        }),
        { status: 200, outcome: "ignored_paid" },
      );
      assert.equal(await balance(), start + scale.credits);
      assert.equal(await statusOf(purchase.id), "paid");
    },
  );

  backend.test("a completion after an expiry still credits, once", async (database) => {
    await setUp(database);
    const purchase = await pendingPurchase();
    const start = await balance();
    assert.deepEqual(
      await webhook({ id: "evt_expired_2", type: "checkout.session.expired", session: { id: purchase.id } }),
      { status: 200, outcome: "expired" },
    );
    assert.equal(await statusOf(purchase.id), "expired");
    assert.equal(await balance(), start);

    assert.deepEqual(
      await webhook({
        id: "evt_completed_2",
        type: "checkout.session.completed",
        session: { id: purchase.id },
      }),
      { status: 200, outcome: "credited" },
    );
    assert.deepEqual(
      await webhook({
        id: "evt_completed_2b",
        type: "checkout.session.completed",
        session: { id: purchase.id },
      }),
      { status: 200, outcome: "already_paid" },
    );
    assert.equal(await balance(), start + scale.credits);
    assert.equal(await statusOf(purchase.id), "paid");
  });

  backend.test(
    "a completed but unpaid session credits nothing until its async payment succeeds",
    async (database) => {
      await setUp(database);
      const purchase = await pendingPurchase();
      const start = await balance();
      assert.deepEqual(
        await webhook({
          id: "evt_unpaid_3",
          type: "checkout.session.completed",
          session: { id: purchase.id, payment_status: "unpaid" },
        }),
        { status: 200, outcome: "ignored" },
      );
      assert.equal(await statusOf(purchase.id), "pending");
      assert.deepEqual(
        await webhook({
          id: "evt_async_3",
          type: "checkout.session.async_payment_succeeded",
          session: { id: purchase.id },
        }),
        { status: 200, outcome: "credited" },
      );
      assert.equal(await balance(), start + scale.credits);
    },
  );

  backend.test("refuses a bad or missing signature with 400 and changes nothing", async (database) => {
    await setUp(database);
    const purchase = await pendingPurchase();
    const start = await balance();
    const event = { id: "evt_forged_4", type: "checkout.session.completed", session: { id: purchase.id } };
    const signed = signedEvent(event);

    const wrongSecret = await handleStripeWebhook({
      ...signed,
      webhookSecret: "whsec_someone_else",
      purchases: fixture.services.purchases,
    });
    assert.equal(wrongSecret.status, 400);
    const tampered = await handleStripeWebhook({
      rawBody: Buffer.from(signed.rawBody.toString("utf8").replace('"paid"', '"paid" ')),
      signature: signed.signature,
      webhookSecret,
      purchases: fixture.services.purchases,
    });
    assert.equal(tampered.status, 400);
    const unsigned = await handleStripeWebhook({
      rawBody: signed.rawBody,
      signature: undefined,
      webhookSecret,
      purchases: fixture.services.purchases,
    });
    assert.equal(unsigned.status, 400);
    assert.equal(await balance(), start);
    assert.equal(await statusOf(purchase.id), "pending");

    // The refused deliveries left no trace: the genuine event with the same id still credits.
    assert.deepEqual(await webhook(event), { status: 200, outcome: "credited" });
    assert.equal(await balance(), start + scale.credits);
  });

  backend.test("acknowledges an unrelated event type as ignored", async (database) => {
    await setUp(database);
    const purchase = await pendingPurchase();
    const start = await balance();
    assert.deepEqual(
      await webhook({ id: "evt_other_5", type: "payment_intent.succeeded", session: { id: purchase.id } }),
      { status: 200, outcome: "ignored" },
    );
    assert.equal(await statusOf(purchase.id), "pending");
    assert.equal(await balance(), start);
  });

  backend.test("does not pay for a session it does not know, nor for a dev purchase", async (database) => {
    await setUp(database);
    const start = await balance();
    assert.deepEqual(
      await webhook({
        id: "evt_unknown_6",
        type: "checkout.session.completed",
        session: { id: "cs_test_nobody" },
      }),
      { status: 200, outcome: "unknown_purchase" },
    );
    await fixture.services.purchases.createPurchase({
      id: "dev_cs_not_stripe",
      provider: "dev",
      accountId: buyer.account.id,
      packId: scale.id,
      credits: scale.credits,
      priceAmount: scale.priceAmount,
      currency: scale.currency,
    });
    assert.deepEqual(
      await webhook({
        id: "evt_dev_6",
        type: "checkout.session.completed",
        session: { id: "dev_cs_not_stripe" },
      }),
      { status: 200, outcome: "unknown_purchase" },
    );
    assert.equal(await statusOf("dev_cs_not_stripe"), "pending");
    assert.equal(await balance(), start);
  });

  backend.test(
    "a paid session whose row was never written is rebuilt from its metadata, once",
    async (database) => {
      await setUp(database);
      const start = await balance();
      const event = {
        id: "evt_late_row_7",
        type: "checkout.session.completed",
        session: { id: "cs_test_row_lost", metadata: { accountId: buyer.account.id, packId: scale.id } },
      };
      assert.deepEqual(await webhook(event), { status: 200, outcome: "credited" });
      assert.deepEqual(await webhook(event), { status: 200, outcome: "already_handled" });
      assert.deepEqual(await webhook({ ...event, id: "evt_late_row_8" }), {
        status: 200,
        outcome: "already_paid",
      });
      assert.equal(await statusOf("cs_test_row_lost"), "paid");
      assert.equal(await balance(), start + scale.credits);
    },
  );

  backend.test("concurrent deliveries of one event credit once", async (database) => {
    await setUp(database);
    const purchase = await pendingPurchase();
    const start = await balance();
    const event = {
      id: "evt_concurrent_7",
      type: "checkout.session.completed",
      session: { id: purchase.id },
    };
    const results = await Promise.all(Array.from({ length: 12 }, () => webhook(event)));
    const outcomes = results.map((result) => (result.status === 200 ? result.outcome : result.error)).sort();
    assert.deepEqual(outcomes, [...Array.from({ length: 11 }, () => "already_handled"), "credited"]);
    assert.equal(await balance(), start + scale.credits);
  });

  backend.test("concurrent different events for one session credit once", async (database) => {
    await setUp(database);
    const purchase = await pendingPurchase();
    const start = await balance();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        webhook({
          id: `evt_race_8_${index}`,
          // Expiries race the completions: whatever wins, the money taken is credited once.
          type: index % 3 === 2 ? "checkout.session.expired" : "checkout.session.completed",
          session: { id: purchase.id },
        }),
      ),
    );
    const outcomes = results.map((result) => (result.status === 200 ? result.outcome : result.error));
    assert.equal(outcomes.filter((outcome) => outcome === "credited").length, 1, outcomes.join(", "));
    const allowed = new Set(["credited", "already_paid", "expired", "ignored_paid"]);
    assert.ok(
      outcomes.every((outcome) => allowed.has(outcome)),
      outcomes.join(", "),
    );
    assert.equal(await balance(), start + scale.credits);
    assert.equal(await statusOf(purchase.id), "paid");
  });

  backend.test(
    "leaves the ledger balanced, with exactly the credited purchases on the balance",
    async (database) => {
      await setUp(database);
      const paid = (await fixture.services.purchases.listPurchases(buyer.account.id)).filter(
        (purchase) => purchase.status === "paid",
      );
      assert.equal(paid.length, 7, "six paid by the tests above, and the one rebuilt from its metadata");
      assert.equal(await balance(), paid.length * scale.credits);
      assert.deepEqual(await checkLedgerIntegrity({ db: fixture.database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
    },
  );
});

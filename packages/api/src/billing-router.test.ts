// SPDX-License-Identifier: PolyForm-Shield-1.0
// Billing and usage: dev checkout credits a pack exactly once; usage by day and as CSV from settled jobs.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { checkLedgerIntegrity } from "@helexa/db";
import { defaultCreditPacks } from "./credit-packs.js";
import {
  createPortalFixture,
  type PortalCaller,
  type PortalFixture,
  portalUrl,
} from "./testing/portal-fixture.js";

const starter = defaultCreditPacks.find((pack) => pack.id === "starter")!;
const builder = defaultCreditPacks.find((pack) => pack.id === "builder")!;

// One install for both suites: each works with its own accounts.
let fixture: PortalFixture;
before(async () => {
  fixture = await createPortalFixture();
});
after(() => fixture.close());

describe("billing router with the dev payment provider", () => {
  let buyer: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let asBuyer: PortalCaller;
  before(async () => {
    buyer = await fixture.signUp({ email: "buyer@example.com" });
    asBuyer = await fixture.caller(buyer.sessionId);
  });

  it("lists the packs with the provider", async () => {
    const { provider, packs } = await asBuyer.billing.packs();
    assert.equal(provider, "dev");
    assert.deepEqual(
      packs.map((pack) => pack.id),
      ["starter", "builder", "scale"],
    );
  });

  it("checkout records a pending purchase and points at the dev checkout page", async () => {
    const { purchaseId, url } = await asBuyer.billing.checkout({ packId: "builder" });
    assert.match(purchaseId, /^dev_cs_/);
    assert.equal(url, `${portalUrl}/credits/dev-checkout?purchase=${encodeURIComponent(purchaseId)}`);
    const purchase = await asBuyer.billing.purchase({ id: purchaseId });
    assert.equal(purchase.status, "pending");
    assert.equal(purchase.provider, "dev");
    assert.equal(purchase.accountId, buyer.account.id);
    assert.equal(purchase.credits, builder.credits);
    assert.equal(purchase.priceAmount, builder.priceAmount);
    assert.equal((await asBuyer.billing.balance()).balance, 0, "nothing is credited before paying");
  });

  it("refuses a pack that does not exist", async () => {
    await assert.rejects(asBuyer.billing.checkout({ packId: "free-money" }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
  });

  it("devPay credits exactly the pack once; paying again credits nothing more", async () => {
    const before = (await asBuyer.billing.balance()).balance;
    const { purchaseId } = await asBuyer.billing.checkout({ packId: "starter" });

    assert.deepEqual(await asBuyer.billing.devPay({ id: purchaseId }), { outcome: "credited" });
    assert.deepEqual(await asBuyer.billing.balance(), {
      balance: before + starter.credits,
      held: 0,
      available: before + starter.credits,
    });
    const paid = await asBuyer.billing.purchase({ id: purchaseId });
    assert.equal(paid.status, "paid");
    assert.ok(paid.paidAt instanceof Date);
    assert.ok(paid.ledgerTransactionId);

    assert.deepEqual(await asBuyer.billing.devPay({ id: purchaseId }), { outcome: "already_paid" });
    assert.equal((await asBuyer.billing.balance()).balance, before + starter.credits);

    const [latest] = await asBuyer.billing.history({ limit: 10 });
    assert.equal(latest?.amount, starter.credits);
    assert.equal(latest?.transactionKind, "purchase");
    assert.equal(latest?.transactionId, paid.ledgerTransactionId);

    const purchases = await asBuyer.billing.purchases();
    assert.equal(purchases.filter((purchase) => purchase.status === "paid").length, 1);
    assert.deepEqual(await checkLedgerIntegrity({ db: fixture.database.db }), {
      unbalancedTransactions: 0,
      mismatchedBalances: 0,
    });
  });

  it("devPay refuses a Stripe purchase even when it is the caller's own", async () => {
    await fixture.services.purchases.createPurchase({
      id: "cs_test_owned_by_buyer",
      provider: "stripe",
      accountId: buyer.account.id,
      packId: "scale",
      credits: 120_000_000,
      priceAmount: 10_000,
      currency: "usd",
    });
    const before = (await asBuyer.billing.balance()).balance;
    await assert.rejects(asBuyer.billing.devPay({ id: "cs_test_owned_by_buyer" }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    assert.equal((await asBuyer.billing.balance()).balance, before);
    assert.equal((await fixture.services.purchases.getPurchase("cs_test_owned_by_buyer"))?.status, "pending");
  });
});

describe("usage router", () => {
  let customer: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let asCustomer: PortalCaller;
  const today = new Date().toISOString().slice(0, 10);

  /** A job held, run and settled on the ledger as the gateway does: it writes the usage record. */
  async function settledJob(
    accountId: string,
    model: string,
    cost: number,
    tokens = { prompt: 7, completion: 11 },
  ) {
    const jobId = randomUUID();
    await fixture.ledger.placeHold({ jobId, accountId, amount: cost + 1_000, job: { model } });
    await fixture.ledger.settleHold({
      jobId,
      cost,
      operatorAccountId: null,
      promptTokens: tokens.prompt,
      completionTokens: tokens.completion,
    });
  }

  before(async () => {
    customer = await fixture.signUp({ email: "customer@example.com" });
    asCustomer = await fixture.caller(customer.sessionId);
    await fixture.ledger.grantCredits({
      accountId: customer.account.id,
      amount: 100_000_000,
      idempotencyKey: "usage-test",
    });
    await settledJob(customer.account.id, '=HYPERLINK("http://evil.test","click")', 1_234_567);
    await settledJob(customer.account.id, "+1", 5);
    await settledJob(customer.account.id, "-2", 3_000_000);
    await settledJob(customer.account.id, "@SUM(A1)", 999_999);
    await settledJob(customer.account.id, 'tiny,"quoted"', 42);
    await settledJob(customer.account.id, "\t=1+1", 7);
    await settledJob(customer.account.id, "two\r\nlines", 8);
    // Two jobs of one model on one day make one row.
    await settledJob(customer.account.id, "llama-3-8b", 1_234_567, { prompt: 100, completion: 200 });
    await settledJob(customer.account.id, "llama-3-8b", 765_433, { prompt: 1, completion: 2 });

    // Someone else's usage never shows.
    const other = await fixture.signUp({ email: "other@example.com" });
    await fixture.ledger.grantCredits({
      accountId: other.account.id,
      amount: 10_000_000,
      idempotencyKey: "usage-other",
    });
    await settledJob(other.account.id, "llama-3-8b", 1_000_000);
  });

  it("byDay sums the account's settled jobs per day and model", async () => {
    const rows = await asCustomer.usage.byDay({ from: today, to: today });
    const llama = rows.find((row) => row.model === "llama-3-8b");
    assert.deepEqual(llama, {
      day: today,
      model: "llama-3-8b",
      requests: 2,
      promptTokens: 101,
      completionTokens: 202,
      cost: 2_000_000,
    });
    assert.equal(rows.length, 8);
  });

  it("csv escapes formula-like model names and writes credits with exactly six decimals", async () => {
    const { filename, csv } = await asCustomer.usage.csv({ from: today, to: today });
    assert.equal(filename, `helexa-usage-${today}-to-${today}.csv`);
    const [header, ...rows] = parseCsv(csv);
    assert.deepEqual(header, [
      "day",
      "model",
      "requests",
      "prompt_tokens",
      "completion_tokens",
      "cost_credits",
    ]);
    // The database's collation decides the order of punctuation, so compare the rows by model.
    const byModel = new Map(rows.map((row) => [row[1], row]));
    assert.equal(byModel.size, 8);
    const expected: [string, string, string][] = [
      ['=HYPERLINK("http://evil.test","click")', `'=HYPERLINK("http://evil.test","click")`, "1.234567"],
      ["+1", "'+1", "0.000005"],
      ["-2", "'-2", "3.000000"],
      ["@SUM(A1)", "'@SUM(A1)", "0.999999"],
      ["\t=1+1", "'\t=1+1", "0.000007"],
      ['tiny,"quoted"', 'tiny,"quoted"', "0.000042"],
      ["two\r\nlines", "two\r\nlines", "0.000008"],
    ];
    for (const [model, field, cost] of expected) {
      assert.deepEqual(byModel.get(field), [today, field, "1", "7", "11", cost], model);
    }
    assert.deepEqual(byModel.get("llama-3-8b"), [today, "llama-3-8b", "2", "101", "202", "2.000000"]);
    // And as bytes: the fields that need quotes have them, the others do not.
    assert.ok(csv.includes(`\n${today},"'=HYPERLINK(""http://evil.test"",""click"")",1,7,11,1.234567\n`));
    assert.ok(csv.includes(`\n${today},'+1,1,7,11,0.000005\n`));
    assert.ok(csv.includes(`\n${today},"two\r\nlines",1,7,11,0.000008\n`));
    assert.ok(csv.endsWith("\n"));
  });

  it("csv of a range without usage is the header alone", async () => {
    const { csv } = await asCustomer.usage.csv({ from: "2020-01-01", to: "2020-01-31" });
    assert.equal(csv, "day,model,requests,prompt_tokens,completion_tokens,cost_credits\n");
  });

  it("refuses a range that ends before it starts, or spans more than a year", async () => {
    await assert.rejects(asCustomer.usage.csv({ from: "2024-02-01", to: "2024-01-01" }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
    await assert.rejects(asCustomer.usage.byDay({ from: "2022-01-01", to: "2024-01-01" }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
  });
});

/** RFC 4180, as a spreadsheet reads it: quoted fields may hold commas, quotes ("") and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += char;
  }
  assert.equal(field + row.join(""), "", "the CSV ends with a line break");
  return rows;
}

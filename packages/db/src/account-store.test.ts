// SPDX-License-Identifier: PolyForm-Shield-1.0
// Accounts: each comes with its ledger accounts; emails are unique regardless of case; one first admin.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { eq, isNull } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { createAuthStore } from "./auth-store.js";
import { Ledger } from "./ledger.js";
import { ledgerAccounts } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

describeOnEachBackend("AccountStore", (backend) => {
  // First in the suite: the suite's database is empty only until a test creates an account.
  backend.test("on an empty install exactly one of many racing sign-ups becomes admin", async ({ db }) => {
    const store = createAccountStore({ db });
    assert.equal(await store.countAccounts(), 0);
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        store.createAccountFirstIsAdmin({ name: `racer ${index}`, email: `racer${index}@example.com` }),
      ),
    );
    assert.deepEqual(created.map((account) => account.role).sort(), ["admin", ...Array(7).fill("user")]);
    const later = await store.createAccountFirstIsAdmin({ name: "later" });
    assert.equal(later.role, "user");
    assert.equal(await store.countAccounts(), 9);
  });

  backend.test("creates an account with its credit and earnings ledger accounts", async ({ db }) => {
    const store = createAccountStore({ db });
    const account = await store.createAccount({ name: "Ada", email: " Ada@Example.COM ", role: "admin" });
    assert.equal(account.email, "ada@example.com");
    assert.equal(account.role, "admin");
    assert.equal(account.passwordHash, null);
    assert.equal(account.emailVerifiedAt, null);
    const owned = await db.select().from(ledgerAccounts).where(eq(ledgerAccounts.accountId, account.id));
    assert.deepEqual(owned.map((row) => row.kind).sort(), ["customer_credit", "operator_earnings"]);
    assert.ok(owned.every((row) => row.balance === 0 && row.held === 0));
    assert.equal((await store.findAccountByEmail("  ADA@example.com"))?.id, account.id);
    assert.equal(await store.findAccountByEmail("nobody@example.com"), null);
  });

  backend.test(
    "refuses a second account with the same email, leaving no half-made account",
    async ({ db }) => {
      const store = createAccountStore({ db });
      await store.createAccount({ name: "one", email: "same@example.com" });
      const before = await store.countAccounts();
      await assert.rejects(store.createAccount({ name: "two", email: "SAME@example.com" }));
      assert.equal(await store.countAccounts(), before);
      // Accounts without email are many.
      await store.createAccount({ name: "anonymous" });
      await store.createAccount({ name: "anonymous" });
    },
  );

  backend.test("password, verification, role and suspension are set and cleared", async ({ db }) => {
    const store = createAccountStore({ db });
    const verifiedAt = new Date("2026-01-02T03:04:05.000Z");
    const account = await store.createAccount({
      name: "Grace",
      email: "grace@example.com",
      passwordHash: "$argon2id$first",
      emailVerifiedAt: verifiedAt,
    });
    assert.equal(account.passwordHash, "$argon2id$first");
    assert.equal(account.emailVerifiedAt?.toISOString(), verifiedAt.toISOString());

    assert.equal(
      await store.setPasswordHash({ accountId: account.id, passwordHash: "$argon2id$second" }),
      true,
    );
    assert.equal((await store.getAccount(account.id))?.passwordHash, "$argon2id$second");
    // A second verification keeps the first time.
    assert.equal(await store.markEmailVerified(account.id), true);
    assert.equal(
      (await store.getAccount(account.id))?.emailVerifiedAt?.toISOString(),
      verifiedAt.toISOString(),
    );
    const unverified = await store.createAccount({ name: "new" });
    await store.markEmailVerified(unverified.id);
    assert.ok((await store.getAccount(unverified.id))?.emailVerifiedAt instanceof Date);

    assert.equal(await store.setRole({ accountId: account.id, role: "admin" }), true);
    assert.equal((await store.getAccount(account.id))?.role, "admin");

    const auth = createAuthStore({ db });
    const session = await auth.createSession({ accountId: account.id, ttlMs: 60_000 });
    assert.equal(await store.setSuspended({ accountId: account.id, suspended: true }), true);
    const suspendedAt = (await store.getAccount(account.id))?.suspendedAt;
    assert.ok(suspendedAt instanceof Date);
    await store.setSuspended({ accountId: account.id, suspended: true });
    assert.equal((await store.getAccount(account.id))?.suspendedAt?.getTime(), suspendedAt.getTime());
    assert.equal(await store.setSuspended({ accountId: account.id, suspended: false }), true);
    assert.equal((await store.getAccount(account.id))?.suspendedAt, null);
    // The suspension ended the session: lifting it does not bring the sign-in back.
    assert.equal(await auth.getActiveSession(session.id), null);

    const unknown = randomUUID();
    assert.equal(await store.setPasswordHash({ accountId: unknown, passwordHash: "x" }), false);
    assert.equal(await store.markEmailVerified(unknown), false);
    assert.equal(await store.setRole({ accountId: unknown, role: "user" }), false);
    assert.equal(await store.setSuspended({ accountId: unknown, suspended: true }), false);
  });

  backend.test("lists accounts with their balances, searched and paged, with the total", async ({ db }) => {
    const store = createAccountStore({ db });
    await using ledger = new Ledger({ db });
    const marker = `m${randomUUID().slice(0, 8)}`;
    const customer = await store.createAccount({
      name: `Customer ${marker}`,
      email: `c-${marker}@Example.com`,
    });
    const operator = await store.createAccount({
      name: `Operator ${marker}`,
      email: `o-${marker}@example.com`,
    });
    await store.createAccount({ name: "someone else", email: `else-${randomUUID()}@example.com` });
    await ledger.grantCredits({ accountId: customer.id, amount: 10 * credit, idempotencyKey: randomUUID() });
    const jobId = randomUUID();
    await ledger.placeHold({ jobId, accountId: customer.id, amount: 2 * credit });
    await ledger.settleHold({ jobId, cost: credit, operatorAccountId: operator.id, operatorShare: 0.5 });
    await ledger.placeHold({ jobId: randomUUID(), accountId: customer.id, amount: 3 * credit });

    const found = await store.listAccountsWithBalances({
      limit: 10,
      offset: 0,
      search: marker.toUpperCase(),
    });
    assert.equal(found.total, 2);
    // Newest first.
    assert.deepEqual(
      found.accounts.map((row) => row.id),
      [operator.id, customer.id],
    );
    const customerRow = found.accounts[1]!;
    assert.equal(customerRow.email, `c-${marker}@example.com`);
    assert.deepEqual(
      { balance: customerRow.balance, held: customerRow.held, earnings: customerRow.earnings },
      { balance: 9 * credit, held: 3 * credit, earnings: 0 },
    );
    assert.equal(found.accounts[0]?.earnings, credit / 2);
    assert.equal("passwordHash" in customerRow, false);

    const byEmail = await store.listAccountsWithBalances({ limit: 10, offset: 0, search: `c-${marker}@` });
    assert.deepEqual(
      byEmail.accounts.map((row) => row.id),
      [customer.id],
    );
    const secondPage = await store.listAccountsWithBalances({ limit: 1, offset: 1, search: marker });
    assert.deepEqual(
      { total: secondPage.total, ids: secondPage.accounts.map((row) => row.id) },
      { total: 2, ids: [customer.id] },
    );
    // Wildcards typed in the box are literal characters.
    assert.equal((await store.listAccountsWithBalances({ limit: 10, offset: 0, search: "%" })).total, 0);
    const everyone = await store.listAccountsWithBalances({ limit: 1, offset: 0 });
    assert.equal(everyone.total, await store.countAccounts());
  });

  backend.test("the platform ledger accounts exist once, however often they are ensured", async ({ db }) => {
    const store = createAccountStore({ db });
    await store.ensurePlatformAccounts();
    await store.ensurePlatformAccounts();
    const platform = await db.select().from(ledgerAccounts).where(isNull(ledgerAccounts.accountId));
    assert.deepEqual(platform.map((row) => `${row.id}:${row.kind}`).sort(), [
      "funding:funding",
      "platform_revenue:platform_revenue",
    ]);
  });
});

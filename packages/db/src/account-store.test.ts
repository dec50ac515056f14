// SPDX-License-Identifier: PolyForm-Shield-1.0
// Accounts: each comes with its ledger accounts; emails are unique regardless of case.

import assert from "node:assert/strict";
import { eq, isNull } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { ledgerAccounts } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

describeOnEachBackend("AccountStore", (backend) => {
  backend.test("creates an account with its credit and earnings ledger accounts", async ({ db }) => {
    const store = createAccountStore({ db });
    const account = await store.createAccount({ name: "Ada", email: " Ada@Example.COM ", role: "admin" });
    assert.equal(account.email, "ada@example.com");
    assert.equal(account.role, "admin");
    const owned = await db.select().from(ledgerAccounts).where(eq(ledgerAccounts.accountId, account.id));
    assert.deepEqual(owned.map((row) => row.kind).sort(), ["customer_credit", "operator_earnings"]);
    assert.ok(owned.every((row) => row.balance === 0 && row.held === 0));
    assert.equal((await store.findAccountByEmail("ADA@example.com"))?.id, account.id);
    assert.equal(await store.findAccountByEmail("nobody@example.com"), null);
  });

  backend.test(
    "refuses a second account with the same email, leaving no half-made account",
    async ({ db }) => {
      const store = createAccountStore({ db });
      await store.createAccount({ name: "one", email: "same@example.com" });
      const before = (await store.listAccounts({ limit: 1000 })).length;
      await assert.rejects(store.createAccount({ name: "two", email: "SAME@example.com" }));
      assert.equal((await store.listAccounts({ limit: 1000 })).length, before);
      // Accounts without email are many.
      await store.createAccount({ name: "anonymous" });
      await store.createAccount({ name: "anonymous" });
    },
  );

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

// SPDX-License-Identifier: PolyForm-Shield-1.0
// API keys: the key is shown once and only its hash is stored; verify refuses unknown and revoked keys.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { createApiKeyStore } from "./api-key-store.js";
import { apiKeys } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

describeOnEachBackend("ApiKeyStore", (backend) => {
  backend.test("creates a key, stores only its hash, and verifies it", async ({ db }) => {
    await using store = createApiKeyStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "owner" });
    const created = await store.createApiKey({ accountId: account.id, name: "laptop" });
    assert.match(created.key, /^sk-hx-[0-9A-Za-z]{40}$/);
    assert.equal(created.prefix, created.key.slice(0, 10));

    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    assert.ok(row);
    assert.equal(row.secretHash, createHash("sha256").update(created.key).digest("hex"));
    for (const value of Object.values(row)) assert.notEqual(value, created.key);

    assert.deepEqual(await store.verifyApiKey(created.key), {
      keyId: created.id,
      accountId: account.id,
      spendLimit: null,
      rateLimitPerMinute: null,
    });
  });

  backend.test("keeps a key's limits, and a suspended account's keys stop working", async ({ db }) => {
    await using store = createApiKeyStore({ db });
    const accountStore = createAccountStore({ db });
    const account = await accountStore.createAccount({ name: "owner" });
    const created = await store.createApiKey({
      accountId: account.id,
      name: "limited",
      spendLimit: 5 * credit,
      rateLimitPerMinute: 60,
    });
    assert.deepEqual(await store.verifyApiKey(created.key), {
      keyId: created.id,
      accountId: account.id,
      spendLimit: 5 * credit,
      rateLimitPerMinute: 60,
    });
    const [listed] = await store.listApiKeys(account.id);
    assert.deepEqual(
      {
        spendLimit: listed?.spendLimit,
        rateLimitPerMinute: listed?.rateLimitPerMinute,
        spent: listed?.spent,
      },
      { spendLimit: 5 * credit, rateLimitPerMinute: 60, spent: 0 },
    );
    await accountStore.setSuspended({ accountId: account.id, suspended: true });
    assert.equal(await store.verifyApiKey(created.key), null);
    await accountStore.setSuspended({ accountId: account.id, suspended: false });
    assert.ok(await store.verifyApiKey(created.key));

    for (const limits of [{ spendLimit: 0 }, { spendLimit: 1.5 }, { rateLimitPerMinute: -1 }]) {
      await assert.rejects(store.createApiKey({ accountId: account.id, name: "bad", ...limits }), {
        code: "invalid_request",
      });
    }
  });

  backend.test("refuses unknown, malformed and lookalike keys", async ({ db }) => {
    await using store = createApiKeyStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "owner" });
    const { key } = await store.createApiKey({ accountId: account.id, name: "k" });
    const unknown = `sk-hx-${"a".repeat(40)}`;
    for (const candidate of [
      unknown,
      "",
      "sk-hx-",
      key.slice(0, -1),
      `${key}x`,
      key.replace("sk-hx-", "nt-hx-"),
    ]) {
      assert.equal(await store.verifyApiKey(candidate), null, candidate);
    }
  });

  backend.test("revokes a key for good, and only for its own account", async ({ db }) => {
    await using store = createApiKeyStore({ db });
    const accountStore = createAccountStore({ db });
    const owner = await accountStore.createAccount({ name: "owner" });
    const stranger = await accountStore.createAccount({ name: "stranger" });
    const created = await store.createApiKey({ accountId: owner.id, name: "k" });
    assert.equal(await store.revokeApiKey({ keyId: created.id, accountId: stranger.id }), false);
    assert.ok(await store.verifyApiKey(created.key));
    assert.equal(await store.revokeApiKey({ keyId: created.id, accountId: owner.id }), true);
    assert.equal(await store.verifyApiKey(created.key), null);
    assert.equal(await store.revokeApiKey({ keyId: created.id }), false);
    const [listed] = await store.listApiKeys(owner.id);
    assert.ok(listed?.revokedAt instanceof Date);
    assert.equal("secretHash" in listed, false);
  });

  backend.test("records last use in batches, not per verify", async ({ db }) => {
    await using store = createApiKeyStore({ db, lastUsedFlushIntervalMs: 60_000 });
    const account = await createAccountStore({ db }).createAccount({ name: "owner" });
    const created = await store.createApiKey({ accountId: account.id, name: "k" });
    await store.verifyApiKey(created.key);
    assert.equal((await store.listApiKeys(account.id))[0]?.lastUsedAt, null);
    await store.flushLastUsed();
    assert.ok((await store.listApiKeys(account.id))[0]?.lastUsedAt instanceof Date);
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Opening and migrating: PGlite's folder is created, migrations are idempotent and safe to run concurrently.

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { executeRows } from "./execute-rows.js";
import { type DrizzleDatabase, openDatabase } from "./open-database.js";
import { ledgerAccounts } from "./schema.js";
import { createEmptyPostgresDatabase, probePostgres, testEnvironment } from "./testing/throwaway-database.js";

async function appliedMigrations(db: DrizzleDatabase): Promise<number> {
  const [row] = await executeRows<{ count: string | number }>(
    db,
    sql`select count(*) as count from drizzle.__drizzle_migrations`,
  );
  return Number(row?.count);
}

async function platformAccountIds(db: DrizzleDatabase): Promise<string[]> {
  const rows = await db
    .select({ id: ledgerAccounts.id })
    .from(ledgerAccounts)
    .where(sql`${ledgerAccounts.accountId} is null`)
    .orderBy(ledgerAccounts.id);
  return rows.map((row) => row.id);
}

describe("openDatabase [pglite]", () => {
  it("creates the data folder's parents, migrates once, and keeps data across reopening", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "helexa-db-open-"));
    try {
      const dataDir = path.join(folder, "not", "yet", "there", "pglite");
      const first = await openDatabase({ dataDir });
      assert.equal(first.kind, "pglite");
      const account = await createAccountStore({ db: first.db }).createAccount({
        name: "kept",
        email: "k@e.st",
      });
      const migrationsAfterFirst = await appliedMigrations(first.db);
      await first.close();

      await using second = await openDatabase({ dataDir });
      assert.equal(await appliedMigrations(second.db), migrationsAfterFirst);
      assert.ok(migrationsAfterFirst >= 2);
      assert.deepEqual(await platformAccountIds(second.db), ["funding", "platform_revenue"]);
      assert.equal((await createAccountStore({ db: second.db }).getAccount(account.id))?.name, "kept");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe("openDatabase [postgres]", () => {
  it("migrates a fresh database from four processes at once, then again idempotently", async (context) => {
    const unreachable = await probePostgres();
    if (unreachable) {
      if (testEnvironment.isContinuousIntegration) throw new Error(`${unreachable} (required when CI=true)`);
      context.skip(unreachable);
      return;
    }
    const empty = await createEmptyPostgresDatabase();
    try {
      // Separate pools stand in for separate cortex processes starting together.
      const attempts = await Promise.allSettled(
        Array.from({ length: 4 }, () => openDatabase({ url: empty.url })),
      );
      const opened = attempts.flatMap((attempt) => (attempt.status === "fulfilled" ? [attempt.value] : []));
      try {
        for (const attempt of attempts) {
          if (attempt.status === "rejected") assert.fail(`a concurrent open failed: ${attempt.reason}`);
        }
        const db = opened[0]!.db;
        assert.equal(opened[0]!.kind, "postgres");
        const migrations = await appliedMigrations(db);
        assert.ok(migrations >= 2);
        assert.deepEqual(await platformAccountIds(db), ["funding", "platform_revenue"]);
        await using again = await openDatabase({ url: empty.url });
        assert.equal(await appliedMigrations(again.db), migrations);
      } finally {
        await Promise.all(opened.map((database) => database.close()));
      }
    } finally {
      await empty.drop();
    }
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Opening the database: PostgreSQL when a URL is given, embedded PGlite otherwise, migrated before first use.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle as drizzleNodePostgres } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePostgres } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import { lockDataDirectory } from "./data-directory-lock.js";
import {
  createPgliteNotifications,
  createPostgresNotifications,
  type DatabaseNotifications,
} from "./database-notifications.js";
import { schema } from "./schema.js";

export type Schema = typeof schema;

/** The Drizzle handle; one type for both drivers so every query is written once. */
export type DrizzleDatabase = PgDatabase<PgQueryResultHKT, Schema>;
export type DrizzleTransaction = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything a query can run on: the database or a transaction inside it. */
export type DrizzleExecutor = DrizzleDatabase | DrizzleTransaction;

export type DatabaseKind = "pglite" | "postgres";

export interface Database {
  db: DrizzleDatabase;
  kind: DatabaseKind;
  /** LISTEN/NOTIFY: how every process sharing the database hears of a change at once. */
  notifications: DatabaseNotifications;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** A postgres:// URL. When set, PostgreSQL is used and dataDir is ignored. */
  url?: string;
  /** Where PGlite keeps its files. Without it (and without url) the database lives in memory only. */
  dataDir?: string;
  /** Connections in the PostgreSQL pool. */
  poolSize?: number;
  /** Where the generated SQL migrations are; the package's own drizzle/ folder by default. */
  migrationsFolder?: string;
  /**
   * Called when an idle pooled PostgreSQL connection fails (a server restart), which the pool replaces,
   * or when the LISTEN connection is lost, which is made again.
   */
  onPoolError?: (error: Error) => void;
}

// Resolved from the compiled file (dist/open-database.js), so it works wherever the package is installed.
const defaultMigrationsFolder = fileURLToPath(new URL("../drizzle", import.meta.url));

// Hashed by PostgreSQL into the 64-bit key advisory locks take; shared by every helexa process.
const migrationLockKey = "helexa:db:migrations";

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const migrationsFolder = options.migrationsFolder ?? defaultMigrationsFolder;
  if (options.url) return openPostgres({ ...options, url: options.url, migrationsFolder });
  return openPglite({ dataDir: options.dataDir, migrationsFolder });
}

async function openPostgres(options: OpenDatabaseOptions & { url: string; migrationsFolder: string }) {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  // Without a listener an idle connection's error would crash the process.
  pool.on("error", options.onPoolError ?? ((error) => process.emitWarning(error)));
  try {
    await migratePostgres(pool, options.migrationsFolder);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db: DrizzleDatabase = drizzleNodePostgres({ client: pool, schema });
  const notifications = createPostgresNotifications({
    url: options.url,
    ...(options.onPoolError ? { onError: options.onPoolError } : {}),
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= notifications.close().then(() => pool.end());
    return closing;
  };
  return { db, kind: "postgres" as const, notifications, close, [Symbol.asyncDispose]: close };
}

/**
 * Drizzle's migrator reads its bookkeeping table before it opens its transaction, so two processes
 * starting together would both apply the same migration. A session-level advisory lock on one
 * connection makes the second wait until the first is done, then find nothing left to do.
 */
async function migratePostgres(pool: pg.Pool, migrationsFolder: string): Promise<void> {
  const client = await pool.connect();
  let releaseError: Error | undefined;
  try {
    await client.query("select pg_advisory_lock(hashtextextended($1, 0))", [migrationLockKey]);
    try {
      await migrateNodePostgres(drizzleNodePostgres({ client }), { migrationsFolder });
    } finally {
      await client.query("select pg_advisory_unlock(hashtextextended($1, 0))", [migrationLockKey]);
    }
  } catch (error) {
    // A connection in an unknown state must not go back to the pool (it might still hold the lock).
    releaseError = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(releaseError);
  }
}

const PGLITE_SHARED_BUFFERS = "16MB";

async function openPglite(options: { dataDir: string | undefined; migrationsFolder: string }) {
  const isDirectory = options.dataDir !== undefined && !options.dataDir.includes("://");
  if (isDirectory && options.dataDir) {
    await mkdir(path.dirname(path.resolve(options.dataDir)), { recursive: true });
  }
  const lock = isDirectory && options.dataDir ? await lockDataDirectory(path.resolve(options.dataDir)) : null;
  let client: PGlite;
  try {
    client = await PGlite.create(options.dataDir, {
      // PostgreSQL's default of 128 MB of shared buffers lives in PGlite's WASM memory and made up a
      // fifth of cortex's resident memory; one machine's fabric database fits in far less (-150 MB RSS).
      startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
    });
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const db = drizzlePglite({ client, schema });
  try {
    await migratePglite(db, { migrationsFolder: options.migrationsFolder });
  } catch (error) {
    await client.close();
    await lock?.release();
    throw error;
  }
  const close = async () => {
    if (!client.closed) await client.close();
    await lock?.release();
  };
  return {
    db: db as DrizzleDatabase,
    kind: "pglite" as const,
    notifications: createPgliteNotifications(client),
    close,
    [Symbol.asyncDispose]: close,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Throwaway databases for tests: PGlite in a temporary folder, or a fresh PostgreSQL database per run.

import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { type Database, type OpenDatabaseOptions, openDatabase } from "../open-database.js";

/** The one place tests read the environment: where PostgreSQL is, and whether its absence is a failure. */
export const testEnvironment = {
  postgresAdminUrl: process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test",
  isContinuousIntegration: process.env.CI === "true",
};

export interface TestDatabase extends Database {
  /** Where it lives: the PostgreSQL URL or the PGlite folder. */
  location: string;
  /** Opens one more connection to the same database (PostgreSQL only: PGlite allows one process). */
  openAnother(options?: Omit<OpenDatabaseOptions, "url" | "dataDir">): Promise<Database>;
}

/** Why PostgreSQL cannot be used, or null when it can. */
export async function probePostgres(adminUrl = testEnvironment.postgresAdminUrl): Promise<string | null> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (error) {
    return `PostgreSQL is not reachable at ${redactUrl(adminUrl)}: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A PGlite database in a new temporary folder, migrated; closing it removes the folder. */
export async function createPgliteTestDatabase(): Promise<TestDatabase> {
  const folder = await mkdtemp(path.join(tmpdir(), "helexa-db-test-"));
  const dataDir = path.join(folder, "pglite");
  // Starting from a migrated copy costs well under a second; PGlite's own initdb costs several.
  const seeded = await PGlite.create(dataDir, { loadDataDir: await migratedPgliteTemplate() });
  await seeded.close();
  const database = await openDatabase({ dataDir });
  const close = async () => {
    await database.close();
    await rm(folder, { recursive: true, force: true });
  };
  return {
    ...database,
    location: dataDir,
    close,
    [Symbol.asyncDispose]: close,
    openAnother: () => Promise.reject(new Error("PGlite serves one process; close this one first")),
  };
}

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * A dump of a freshly migrated PGlite database, made once and kept in the temporary folder under a
 * name that changes with PGlite's build and the migrations. Test files run as parallel processes, so
 * the first to need it makes it while the others wait for the file.
 */
async function migratedPgliteTemplate(): Promise<Blob> {
  const file = path.join(tmpdir(), `helexa-db-pglite-template-${await templateKey()}.tar.gz`);
  const lock = `${file}.lock`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const cached = await readFile(file).catch(() => undefined);
    if (cached) return new Blob([cached]);
    const locked = await mkdir(lock).then(
      () => true,
      () => false,
    );
    if (locked) break;
    const lockAge = await stat(lock).then(
      (status) => Date.now() - status.mtimeMs,
      () => 0,
    );
    // A maker that died leaves its lock behind; after a minute it is not coming back.
    if (lockAge > 60_000 || Date.now() > deadline) await rm(lock, { recursive: true, force: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    const database = await openDatabase({});
    const client = (database.db as unknown as { $client: PGlite }).$client;
    const dump = await client.dumpDataDir("gzip");
    await database.close();
    const partial = `${file}.${process.pid}.partial`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, file);
    return dump;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function templateKey(): Promise<string> {
  const hash = createHash("sha256");
  const pgliteEntry = fileURLToPath(import.meta.resolve("@electric-sql/pglite"));
  const pgliteStatus = await stat(pgliteEntry);
  hash.update(`${pgliteEntry}:${pgliteStatus.size}:${pgliteStatus.mtimeMs}`);
  for (const name of (await readdir(migrationsFolder, { recursive: true })).sort()) {
    const status = await stat(path.join(migrationsFolder, name));
    if (status.isFile()) hash.update(name).update(await readFile(path.join(migrationsFolder, name)));
  }
  return hash.digest("hex").slice(0, 16);
}

/** An empty PostgreSQL database made for this run (helexa_test_<random>), not yet migrated. */
export async function createEmptyPostgresDatabase(
  options: { adminUrl?: string } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = options.adminUrl ?? testEnvironment.postgresAdminUrl;
  const name = `helexa_test_${randomBytes(6).toString("hex")}`;
  await runAdminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // A closed pool's connections may still be saying goodbye: a plain drop waits up to 5 s for them,
      // where forcing would cut them off mid-goodbye. Force only what a test leaked.
      await runAdminQuery(adminUrl, `drop database if exists ${name}`).catch(() =>
        runAdminQuery(adminUrl, `drop database if exists ${name} with (force)`),
      );
    },
  };
}

/** A PostgreSQL database made for this run, migrated; closing it drops it. */
export async function createPostgresTestDatabase(options: { adminUrl?: string } = {}): Promise<TestDatabase> {
  const empty = await createEmptyPostgresDatabase(options);
  let database: Database;
  try {
    database = await openDatabase({ url: empty.url });
  } catch (error) {
    await empty.drop();
    throw error;
  }
  const close = async () => {
    await database.close();
    await empty.drop();
  };
  return {
    ...database,
    location: redactUrl(empty.url),
    close,
    [Symbol.asyncDispose]: close,
    openAnother: (openOptions = {}) => openDatabase({ ...openOptions, url: empty.url }),
  };
}

async function runAdminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(an unparseable URL)";
  }
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// A cut LISTEN connection for tests: helexa's listeners drop and cannot come back until the callback is done.

import pg from "pg";
import { listenerApplicationName } from "../database-notifications.js";

/**
 * Ends every helexa LISTEN connection to the database at `url` and keeps new connections out while
 * `during` runs, so a notification sent then is lost, as in a network cut. Connections already open
 * (a pool's idle ones) keep working. `adminUrl` names another database on the same server (PostgreSQL
 * will not shut the current one): `postgres` on it by default.
 */
export async function withListenOutage<Result>(
  options: { url: string; adminUrl?: string },
  during: () => Promise<Result>,
): Promise<Result> {
  const target = new URL(options.url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const adminUrl =
    options.adminUrl ?? Object.assign(new URL(options.url), { pathname: "/postgres" }).toString();
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  await admin.connect();
  try {
    await admin.query(`alter database ${pg.escapeIdentifier(name)} allow_connections false`);
    try {
      const ended = await admin.query(
        "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = $2",
        [listenerApplicationName, name],
      );
      if (ended.rowCount === 0) throw new Error("no LISTEN connection to cut");
      return await during();
    } finally {
      await admin.query(`alter database ${pg.escapeIdentifier(name)} allow_connections true`);
    }
  } finally {
    await admin.end();
  }
}

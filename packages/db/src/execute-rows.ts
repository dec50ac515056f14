// SPDX-License-Identifier: PolyForm-Shield-1.0
// Raw SQL that returns rows, the same way on PGlite and node-postgres.

import type { SQL } from "drizzle-orm";
import type { DrizzleExecutor } from "./open-database.js";

/**
 * Both drivers answer `execute` with an object holding `rows`; the shared Drizzle type cannot say so.
 * bigint columns come back as a string (node-postgres) or a number (PGlite): read them with Number().
 */
export async function executeRows<Row>(executor: DrizzleExecutor, query: SQL): Promise<Row[]> {
  const result = (await executor.execute(query)) as unknown as { rows: Row[] };
  return result.rows;
}

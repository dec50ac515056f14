// SPDX-License-Identifier: PolyForm-Shield-1.0
// The sum of ledger balances by account kind: what a metrics scrape reports of the books.

import { sql } from "drizzle-orm";
import type { DrizzleExecutor } from "./open-database.js";
import { type LedgerAccountKind, ledgerAccountKinds, ledgerAccounts } from "./schema.js";

/**
 * Micro-credits by kind, every kind present (0 when no account of it exists). The four sum to zero,
 * funding being the negative side of every grant and purchase. One scan of `ledger_accounts` (one
 * row per customer and kind): cheap at a scrape's pace. A sum past 2^53 loses exactness as a
 * number, which a metric can bear.
 */
export async function ledgerTotals(options: {
  db: DrizzleExecutor;
}): Promise<Record<LedgerAccountKind, number>> {
  const rows = await options.db
    .select({ kind: ledgerAccounts.kind, balance: sql<string | number>`sum(${ledgerAccounts.balance})` })
    .from(ledgerAccounts)
    .groupBy(ledgerAccounts.kind);
  const totals = Object.fromEntries(ledgerAccountKinds.map((kind) => [kind, 0])) as Record<
    LedgerAccountKind,
    number
  >;
  // numeric sums come back as strings from node-postgres and may from PGlite too.
  for (const row of rows) totals[row.kind] = Number(row.balance ?? 0);
  return totals;
}

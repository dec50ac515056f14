// SPDX-License-Identifier: PolyForm-Shield-1.0
// Row locks on ledger accounts, always taken in id order so that concurrent writers cannot deadlock.

import { asc, inArray, or, type SQL, sql } from "drizzle-orm";
import type { DrizzleTransaction } from "./open-database.js";
import { type LedgerAccountKind, ledgerAccounts } from "./schema.js";

export interface LockLedgerAccountsInput {
  ids: string[];
  /** Ledger accounts found by their owner and kind rather than their id. */
  owners?: Array<{ accountId: string; kind: LedgerAccountKind }>;
}

/**
 * SELECT ... FOR UPDATE ORDER BY id: PostgreSQL sorts first and locks in that order, so every
 * transaction that locks through here acquires its rows in the same sequence.
 */
export async function lockLedgerAccounts(tx: DrizzleTransaction, input: LockLedgerAccountsInput) {
  const conditions: SQL[] = [];
  if (input.ids.length > 0) conditions.push(inArray(ledgerAccounts.id, input.ids));
  const owners = input.owners ?? [];
  if (owners.length > 0) {
    const pairs = owners.map((owner) => sql`(${owner.accountId}::text, ${owner.kind}::text)`);
    conditions.push(
      sql`(${ledgerAccounts.accountId}, ${ledgerAccounts.kind}) in (${sql.join(pairs, sql`, `)})`,
    );
  }
  if (conditions.length === 0) return [];
  return tx
    .select({
      id: ledgerAccounts.id,
      accountId: ledgerAccounts.accountId,
      kind: ledgerAccounts.kind,
      balance: ledgerAccounts.balance,
      held: ledgerAccounts.held,
    })
    .from(ledgerAccounts)
    .where(or(...conditions))
    .orderBy(asc(ledgerAccounts.id))
    .for("update");
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The ledger's invariants checked against its own rows: what an audit, a test or an operator runs.

import { sql } from "drizzle-orm";
import { executeRows } from "./execute-rows.js";
import type { DrizzleExecutor } from "./open-database.js";

export interface LedgerIntegrityReport {
  /** Transactions whose entries do not sum to zero. */
  unbalancedTransactions: number;
  /** Ledger accounts whose balance is not the sum of their entries, or whose held is not the sum of their active holds. */
  mismatchedBalances: number;
}

/** Clean means both counts are zero. Reads everything: meant for audits and tests, not the request path. */
export async function checkLedgerIntegrity(options: { db: DrizzleExecutor }): Promise<LedgerIntegrityReport> {
  const [unbalanced] = await executeRows<{ count: string | number }>(
    options.db,
    sql`select count(*) as count from (
      select transaction_id from ledger_entries group by transaction_id having sum(amount) <> 0
    ) as unbalanced`,
  );
  const [mismatched] = await executeRows<{ count: string | number }>(
    options.db,
    sql`select count(*) as count
    from ledger_accounts as account
    left join (
      select ledger_account_id, sum(amount) as total from ledger_entries group by ledger_account_id
    ) as entries on entries.ledger_account_id = account.id
    left join (
      select ledger_account_id, sum(amount) as total from holds where status = 'active' group by ledger_account_id
    ) as active_holds on active_holds.ledger_account_id = account.id
    where account.balance <> coalesce(entries.total, 0) or account.held <> coalesce(active_holds.total, 0)`,
  );
  return {
    unbalancedTransactions: Number(unbalanced?.count ?? 0),
    mismatchedBalances: Number(mismatched?.count ?? 0),
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// A lone credit hold in one SQL statement: the row lock, the check, the hold and the job record in a single round trip.

import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { executeRows } from "./execute-rows.js";
import type { Hold, PlaceHoldInput } from "./ledger-types.js";
import type { DrizzleDatabase } from "./open-database.js";

export type LoneHoldOutcome =
  | { kind: "placed"; hold: Hold }
  | { kind: "insufficient"; available: number }
  /**
   * No such credit account, the job already has a hold, or its API key has a spend limit (or is
   * another account's): the general batch path decides those.
   */
  | { kind: "undecided" };

/**
 * The batch path takes six statements for one hold, ~10-20 ms on PGlite, and the first token of every
 * request waits for it. Alone in its flush, a hold needs none of the batch's bookkeeping: the UPDATE
 * re-checks `balance - held` under its row lock, so concurrent holds still cannot overdraw.
 *
 * A key's spend limit cannot be checked the same way: the statement's subqueries read the key's spend
 * and holds from the snapshot taken before the row lock was granted, which a concurrent hold may have
 * changed. So a hold for such a key is left undecided, untouched, and the batch path (which reads them
 * after its lock) decides it; a key without a limit, the common case, stays on this path.
 */
export async function placeLoneHold(db: DrizzleDatabase, input: PlaceHoldInput): Promise<LoneHoldOutcome> {
  const holdId = randomUUID();
  const now = new Date();
  const apiKeyId = input.job?.apiKeyId ?? null;
  const needsBatch =
    apiKeyId === null
      ? sql`false`
      : sql`exists (select 1 from api_keys where id = ${apiKeyId}
          and (spend_limit is not null or account_id <> ${input.accountId}))`;
  const rows = await executeRows<{
    placed: string | number;
    ledger_account_id: string | null;
    existing: string | number;
    available: string | number | null;
    needs_batch: boolean;
  }>(
    db,
    sql`
      with customer as (
        update ledger_accounts set held = held + ${input.amount}
        where account_id = ${input.accountId} and kind = 'customer_credit'
          and balance - held >= ${input.amount}
          and not exists (select 1 from holds where job_id = ${input.jobId})
          and not ${needsBatch}
        returning id
      ), hold as (
        insert into holds (id, job_id, ledger_account_id, amount, status, created_at)
        select ${holdId}, ${input.jobId}, id, ${input.amount}, 'active', ${now} from customer
        returning id, ledger_account_id
      ), job as (
        insert into jobs (id, account_id, api_key_id, model, hold_amount, created_at)
        select ${input.jobId}, ${input.accountId}, ${apiKeyId}, ${input.job?.model ?? ""},
          ${input.amount}, ${now}
        from customer where ${input.job !== undefined}
        on conflict (id) do nothing
      )
      select
        (select count(*) from hold) as placed,
        (select ledger_account_id from hold) as ledger_account_id,
        (select count(*) from holds where job_id = ${input.jobId}) as existing,
        (select balance - held from ledger_accounts
          where account_id = ${input.accountId} and kind = 'customer_credit') as available,
        ${needsBatch} as needs_batch
    `,
  );
  const row = rows[0];
  if (row && Number(row.placed) === 1) {
    return {
      kind: "placed",
      hold: {
        id: holdId,
        jobId: input.jobId,
        ledgerAccountId: row.ledger_account_id ?? "",
        amount: input.amount,
        status: "active",
        settledAmount: null,
        createdAt: now,
        settledAt: null,
      },
    };
  }
  // `available` was read before the UPDATE in the same statement: the balance the refusal was based on.
  if (row?.needs_batch) return { kind: "undecided" };
  if (row?.available != null && Number(row.existing) === 0 && Number(row.available) < input.amount) {
    return { kind: "insufficient", available: Number(row.available) };
  }
  return { kind: "undecided" };
}

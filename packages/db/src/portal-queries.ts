// SPDX-License-Identifier: PolyForm-Shield-1.0
// What the portal's pages read: usage by day, ledger history, an operator's neurons, platform and admin figures.

import { and, count, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { executeRows } from "./execute-rows.js";
import type { DrizzleDatabase } from "./open-database.js";
import {
  accounts,
  type LedgerTransactionKind,
  ledgerAccounts,
  ledgerEntries,
  ledgerTransactions,
  neurons,
  platformLedgerAccountIds,
} from "./schema.js";

export interface UsageDay {
  /** The UTC day, "YYYY-MM-DD". */
  day: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  /** Micro-credits. */
  cost: number;
}

export interface LedgerHistoryEntry {
  /** When the transaction was written. */
  at: Date;
  /** Increases with every entry: pass the last one as `beforeEntryId` for the next page. */
  entryId: number;
  transactionId: string;
  transactionKind: LedgerTransactionKind;
  description: string | null;
  jobId: string | null;
  /** Micro-credits, signed: positive entered the account, negative left it. */
  amount: number;
}

export interface OperatorNeuron {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastSeenAt: Date | null;
  revokedAt: Date | null;
  revoked: boolean;
  /** What the neuron last said it is, as it said it; null before it first connected. */
  lastCapabilities: unknown;
  /** Settled jobs the neuron served. */
  jobs: number;
  promptTokens: number;
  completionTokens: number;
  /** Micro-credits the operator earned for this neuron's jobs. */
  earnings: number;
}

export interface AdminNeuron {
  id: string;
  name: string;
  prefix: string;
  /** Null for an anonymous donor's browser tab, which has no owner. */
  accountId: string | null;
  ownerEmail: string | null;
  ownerName: string | null;
  createdAt: Date;
  lastSeenAt: Date | null;
  revokedAt: Date | null;
  jobs: number;
  promptTokens: number;
  completionTokens: number;
}

export interface PlatformStats {
  /** Prompt and completion tokens of the jobs settled since the time asked. */
  tokensServed: number;
  requests: number;
  /** Models in the catalog. */
  models: number;
}

export interface AdminOverview {
  /** Micro-credits the platform has kept from jobs. */
  platformRevenue: number;
  /** Micro-credits on every customer's credit account, held credit included. */
  customerCredit: number;
  /** Micro-credits of that promised to running jobs. */
  customerHeld: number;
  /** Micro-credits on every operator's earnings account. */
  operatorEarnings: number;
  accounts: number;
  /** Neurons registered and not revoked. */
  neurons: number;
  /** Jobs started since midnight UTC. */
  jobsToday: number;
}

export interface PortalQueries {
  /** Settled jobs from `from` (inclusive) to `to` (exclusive), by UTC day and model, in that order. */
  usageByDay(input: { accountId: string; from: Date; to: Date }): Promise<UsageDay[]>;
  /**
   * Entries on one of the account's ledger accounts, newest first. `before` keeps entries of
   * transactions written before that time; a batch writes many transactions at one time, so page with
   * `beforeEntryId` (the last entry's id) to neither skip nor repeat any.
   */
  ledgerHistory(input: {
    accountId: string;
    kind: "customer_credit" | "operator_earnings";
    limit: number;
    before?: Date;
    beforeEntryId?: number;
  }): Promise<LedgerHistoryEntry[]>;
  /** The account's neurons, the revoked last, each newest first, with what each served and earned. */
  operatorNeurons(accountId: string): Promise<OperatorNeuron[]>;
  platformStats(input: { since: Date }): Promise<PlatformStats>;
  adminOverview(): Promise<AdminOverview>;
  /** Every account's neurons, newest first, with their owners and what they served. */
  listAllNeurons(input: {
    limit: number;
    offset: number;
  }): Promise<{ neurons: AdminNeuron[]; total: number }>;
}

interface ServedRow {
  neuron_id: string;
  jobs: string | number;
  prompt_tokens: string | number | null;
  completion_tokens: string | number | null;
}

export function createPortalQueries(options: { db: DrizzleDatabase }): PortalQueries {
  const { db } = options;

  /** Per neuron: settled jobs and their tokens, read off the usage records' neuron index. */
  async function servedByNeuron(neuronIds: string[]) {
    const served = new Map<string, { jobs: number; promptTokens: number; completionTokens: number }>();
    if (neuronIds.length === 0) return served;
    const rows = await executeRows<ServedRow>(
      db,
      sql`select neuron_id, count(*) as jobs, sum(prompt_tokens) as prompt_tokens,
          sum(completion_tokens) as completion_tokens
        from usage_records
        where neuron_id in (${sql.join(
          neuronIds.map((id) => sql`${id}`),
          sql`, `,
        )})
        group by neuron_id`,
    );
    for (const row of rows) {
      served.set(row.neuron_id, {
        jobs: Number(row.jobs),
        promptTokens: Number(row.prompt_tokens ?? 0),
        completionTokens: Number(row.completion_tokens ?? 0),
      });
    }
    return served;
  }

  return {
    async usageByDay(input) {
      const rows = await executeRows<{
        day: string;
        model: string;
        requests: string | number;
        prompt_tokens: string | number;
        completion_tokens: string | number;
        cost: string | number;
      }>(
        db,
        sql`select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day, model,
            count(*) as requests, sum(prompt_tokens) as prompt_tokens,
            sum(completion_tokens) as completion_tokens, sum(cost) as cost
          from usage_records
          where account_id = ${input.accountId}
            and created_at >= ${input.from.toISOString()}::timestamptz
            and created_at < ${input.to.toISOString()}::timestamptz
          group by 1, 2
          order by 1, 2`,
      );
      return rows.map((row) => ({
        day: row.day,
        model: row.model,
        requests: Number(row.requests),
        promptTokens: Number(row.prompt_tokens),
        completionTokens: Number(row.completion_tokens),
        cost: Number(row.cost),
      }));
    },

    async ledgerHistory(input) {
      const ledgerAccountId = db
        .select({ id: ledgerAccounts.id })
        .from(ledgerAccounts)
        .where(and(eq(ledgerAccounts.accountId, input.accountId), eq(ledgerAccounts.kind, input.kind)));
      const conditions = [inArray(ledgerEntries.ledgerAccountId, ledgerAccountId)];
      if (input.before) conditions.push(lt(ledgerTransactions.createdAt, input.before));
      if (input.beforeEntryId !== undefined) conditions.push(lt(ledgerEntries.id, input.beforeEntryId));
      return db
        .select({
          at: ledgerTransactions.createdAt,
          entryId: ledgerEntries.id,
          transactionId: ledgerTransactions.id,
          transactionKind: ledgerTransactions.kind,
          description: ledgerTransactions.description,
          jobId: ledgerTransactions.jobId,
          amount: ledgerEntries.amount,
        })
        .from(ledgerEntries)
        .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.transactionId))
        .where(and(...conditions))
        .orderBy(desc(ledgerEntries.id))
        .limit(input.limit);
    },

    async operatorNeurons(accountId) {
      const rows = await db
        .select({
          id: neurons.id,
          name: neurons.name,
          prefix: neurons.prefix,
          createdAt: neurons.createdAt,
          lastSeenAt: neurons.lastSeenAt,
          revokedAt: neurons.revokedAt,
          lastCapabilities: neurons.lastCapabilities,
        })
        .from(neurons)
        .where(eq(neurons.accountId, accountId))
        .orderBy(sql`${neurons.revokedAt} is not null`, desc(neurons.createdAt), desc(neurons.id));
      const served = await servedByNeuron(rows.map((row) => row.id));
      // Driven by the operator's own earnings entries (indexed), each joined to its job's neuron.
      const earned = await executeRows<{ neuron_id: string | null; earnings: string | number }>(
        db,
        sql`select job.neuron_id, sum(entry.amount) as earnings
          from ledger_entries as entry
          join ledger_transactions as ledger_transaction on ledger_transaction.id = entry.transaction_id
          join jobs as job on job.id = ledger_transaction.job_id
          where entry.ledger_account_id = (
              select id from ledger_accounts where account_id = ${accountId} and kind = 'operator_earnings'
            )
            and entry.amount > 0
          group by job.neuron_id`,
      );
      const earningsByNeuron = new Map(earned.map((row) => [row.neuron_id, Number(row.earnings)]));
      return rows.map((row) => ({
        ...row,
        revoked: row.revokedAt !== null,
        jobs: served.get(row.id)?.jobs ?? 0,
        promptTokens: served.get(row.id)?.promptTokens ?? 0,
        completionTokens: served.get(row.id)?.completionTokens ?? 0,
        earnings: earningsByNeuron.get(row.id) ?? 0,
      }));
    },

    async platformStats(input) {
      const [row] = await executeRows<{
        requests: string | number;
        tokens_served: string | number | null;
        models: string | number;
      }>(
        db,
        sql`select count(*) as requests, sum(prompt_tokens + completion_tokens) as tokens_served,
            (select count(*) from models) as models
          from usage_records
          where created_at >= ${input.since.toISOString()}::timestamptz`,
      );
      return {
        tokensServed: Number(row?.tokens_served ?? 0),
        requests: Number(row?.requests ?? 0),
        models: Number(row?.models ?? 0),
      };
    },

    async adminOverview() {
      const now = new Date();
      const startOfDay = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      const [row] = await executeRows<Record<string, string | number | null>>(
        db,
        sql`select
            (select balance from ledger_accounts where id = ${platformLedgerAccountIds.platformRevenue})
              as platform_revenue,
            (select sum(balance) from ledger_accounts where kind = 'customer_credit') as customer_credit,
            (select sum(held) from ledger_accounts where kind = 'customer_credit') as customer_held,
            (select sum(balance) from ledger_accounts where kind = 'operator_earnings') as operator_earnings,
            (select count(*) from accounts) as accounts,
            (select count(*) from neurons where revoked_at is null) as neurons,
            (select count(*) from jobs where created_at >= ${startOfDay.toISOString()}::timestamptz)
              as jobs_today`,
      );
      const figure = (name: string) => Number(row?.[name] ?? 0);
      return {
        platformRevenue: figure("platform_revenue"),
        customerCredit: figure("customer_credit"),
        customerHeld: figure("customer_held"),
        operatorEarnings: figure("operator_earnings"),
        accounts: figure("accounts"),
        neurons: figure("neurons"),
        jobsToday: figure("jobs_today"),
      };
    },

    async listAllNeurons(input) {
      const rows = await db
        .select({
          id: neurons.id,
          name: neurons.name,
          prefix: neurons.prefix,
          accountId: neurons.accountId,
          ownerEmail: accounts.email,
          ownerName: accounts.name,
          createdAt: neurons.createdAt,
          lastSeenAt: neurons.lastSeenAt,
          revokedAt: neurons.revokedAt,
        })
        .from(neurons)
        // An anonymous donor's browser tab has no account: listed, with no owner.
        .leftJoin(accounts, eq(accounts.id, neurons.accountId))
        .orderBy(desc(neurons.createdAt), desc(neurons.id))
        .limit(input.limit)
        .offset(input.offset);
      const [total] = await db.select({ count: count() }).from(neurons);
      const served = await servedByNeuron(rows.map((row) => row.id));
      return {
        neurons: rows.map((row) => ({
          ...row,
          jobs: served.get(row.id)?.jobs ?? 0,
          promptTokens: served.get(row.id)?.promptTokens ?? 0,
          completionTokens: served.get(row.id)?.completionTokens ?? 0,
        })),
        total: Number(total?.count ?? 0),
      };
    },
  };
}

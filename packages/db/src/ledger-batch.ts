// SPDX-License-Identifier: PolyForm-Shield-1.0
// One flush of the ledger: a batch of holds, settlements and releases applied in one transaction.

import { randomUUID } from "node:crypto";
import { type ErrorCode, HelexaError } from "@helexa/protocol";
import { asc, eq, inArray, sql } from "drizzle-orm";
import { executeRows } from "./execute-rows.js";
import type {
  Hold,
  HoldRelease,
  LedgerOperation,
  PlaceHoldInput,
  ReleaseHoldInput,
  SettleHoldInput,
  Settlement,
} from "./ledger-types.js";
import { lockLedgerAccounts } from "./lock-ledger-accounts.js";
import type { DrizzleTransaction } from "./open-database.js";
import {
  holds,
  type JobStatus,
  jobs,
  type LedgerAccountKind,
  ledgerAccounts,
  ledgerEntries,
  ledgerTransactions,
  platformLedgerAccountIds,
  usageRecords,
} from "./schema.js";

/** A call's result, read only after the commit (values written by the batch are filled in by then). */
export type LedgerOutcome = { ok: true; value: () => unknown } | { ok: false; error: HelexaError };

/**
 * Locks the rows the calls touch (holds, then ledger accounts, each in id order), checks and applies
 * each call in arrival order against the running figures, then writes every changed row once.
 */
export async function applyLedgerBatch(options: {
  tx: DrizzleTransaction;
  operations: LedgerOperation[];
  defaultOperatorShare: number;
}): Promise<LedgerOutcome[]> {
  const batch = new LedgerBatch(options.tx, options.defaultOperatorShare);
  await batch.lock(options.operations);
  const outcomes = options.operations.map((operation) => batch.apply(operation));
  await batch.write();
  return outcomes;
}

/** Shares are applied in millionths so that 0.7 of a cost is computed exactly, in integers. */
const sharePrecision = 1_000_000n;

interface HoldState {
  row: Hold;
  isNew: boolean;
  changed: boolean;
}

interface LedgerAccountState {
  id: string;
  accountId: string | null;
  kind: LedgerAccountKind;
  balance: number;
  held: number;
  changed: boolean;
}

interface JobUpdate {
  jobId: string;
  status: JobStatus;
  promptTokens: number | null;
  completionTokens: number | null;
  cost: number;
  neuronId: string | null;
  /** Releases only finish jobs still running; a settlement always writes its figures. */
  onlyIfRunning: boolean;
  writeUsage: boolean;
}

interface UpdatedJobRow {
  id: string;
  account_id: string;
  api_key_id: string | null;
  model: string;
  neuron_id: string | null;
  prompt_tokens: string | number;
  completion_tokens: string | number;
  cost: string | number;
}

class LedgerBatch {
  readonly #tx: DrizzleTransaction;
  readonly #defaultOperatorShare: number;
  readonly #now = new Date();
  readonly #holdsByJob = new Map<string, HoldState>();
  readonly #accountsById = new Map<string, LedgerAccountState>();
  readonly #accountIdsByOwner = new Map<string, string>();
  readonly #newJobs: Array<typeof jobs.$inferInsert> = [];
  readonly #newTransactions: Array<typeof ledgerTransactions.$inferInsert> = [];
  readonly #newEntries: Array<typeof ledgerEntries.$inferInsert> = [];
  readonly #jobUpdates = new Map<string, JobUpdate>();
  readonly #markedJobs = new Set<string>();
  readonly #previouslySettled = new Set<string>();
  readonly #previousSettlements = new Map<string, Settlement>();

  constructor(tx: DrizzleTransaction, defaultOperatorShare: number) {
    this.#tx = tx;
    this.#defaultOperatorShare = defaultOperatorShare;
  }

  async lock(operations: LedgerOperation[]): Promise<void> {
    const jobIds = [...new Set(operations.map((operation) => operation.input.jobId))];
    const lockedHolds = await this.#tx
      .select()
      .from(holds)
      .where(inArray(holds.jobId, jobIds))
      .orderBy(asc(holds.id))
      .for("update");
    for (const row of lockedHolds) this.#holdsByJob.set(row.jobId, { row, isNew: false, changed: false });

    const ids = new Set(lockedHolds.map((row) => row.ledgerAccountId));
    const owners: Array<{ accountId: string; kind: LedgerAccountKind }> = [];
    for (const operation of operations) {
      if (operation.type === "place")
        owners.push({ accountId: operation.input.accountId, kind: "customer_credit" });
      if (operation.type === "settle") {
        ids.add(platformLedgerAccountIds.platformRevenue);
        const operatorAccountId = operation.input.operatorAccountId;
        if (operatorAccountId) owners.push({ accountId: operatorAccountId, kind: "operator_earnings" });
      }
    }
    for (const row of await lockLedgerAccounts(this.#tx, { ids: [...ids], owners })) {
      this.#accountsById.set(row.id, { ...row, changed: false });
      if (row.accountId) this.#accountIdsByOwner.set(ownerKey(row.accountId, row.kind), row.id);
    }
  }

  apply(operation: LedgerOperation): LedgerOutcome {
    if (operation.type === "place") return this.#placeHold(operation.input);
    if (operation.type === "settle") return this.#settleHold(operation.input);
    return this.#releaseHold(operation.input);
  }

  #placeHold(input: PlaceHoldInput): LedgerOutcome {
    const customer = this.#ownedAccount(input.accountId, "customer_credit");
    if (!customer) return failure("not_found", `account ${input.accountId} has no credit account`);
    const existing = this.#holdsByJob.get(input.jobId);
    if (existing) {
      const sameHold =
        existing.row.status === "active" &&
        existing.row.ledgerAccountId === customer.id &&
        existing.row.amount === input.amount;
      if (sameHold) return success(() => existing.row);
      return failure("invalid_request", `job ${input.jobId} already has a hold`);
    }
    const available = customer.balance - customer.held;
    if (available < input.amount) {
      return failure(
        "insufficient_quota",
        `insufficient credit: this request may cost up to ${formatCredits(input.amount)} credits ` +
          `and ${formatCredits(Math.max(available, 0))} are available`,
      );
    }
    customer.held += input.amount;
    customer.changed = true;
    const state: HoldState = {
      row: {
        id: randomUUID(),
        jobId: input.jobId,
        ledgerAccountId: customer.id,
        amount: input.amount,
        status: "active",
        settledAmount: null,
        createdAt: this.#now,
        settledAt: null,
      },
      isNew: true,
      changed: true,
    };
    this.#holdsByJob.set(input.jobId, state);
    if (input.job) {
      this.#newJobs.push({
        id: input.jobId,
        accountId: input.accountId,
        apiKeyId: input.job.apiKeyId ?? null,
        model: input.job.model,
        holdAmount: input.amount,
        createdAt: this.#now,
      });
    }
    return success(() => state.row);
  }

  #settleHold(input: SettleHoldInput): LedgerOutcome {
    const state = this.#holdsByJob.get(input.jobId);
    if (!state) return failure("not_found", `job ${input.jobId} has no hold to settle`);
    if (state.row.status === "released") {
      return failure(
        "invalid_request",
        `the hold of job ${input.jobId} was released; there is nothing to settle`,
      );
    }
    if (state.row.status === "settled") {
      this.#previouslySettled.add(input.jobId);
      return success(() => this.#previousSettlements.get(input.jobId));
    }
    const customer = this.#accountsById.get(state.row.ledgerAccountId);
    const platform = this.#accountsById.get(platformLedgerAccountIds.platformRevenue);
    if (!customer || !platform) return failure("internal", "a ledger account of this settlement is missing");
    const operator = input.operatorAccountId
      ? this.#ownedAccount(input.operatorAccountId, "operator_earnings")
      : undefined;
    if (input.operatorAccountId && !operator) {
      return failure("not_found", `operator account ${input.operatorAccountId} has no earnings account`);
    }

    const cost = Math.min(input.cost, state.row.amount);
    const operatorAmount = operator
      ? operatorPart(cost, input.operatorShare ?? this.#defaultOperatorShare)
      : 0;
    const platformAmount = cost - operatorAmount;
    customer.held -= state.row.amount;
    customer.changed = true;
    state.row = { ...state.row, status: "settled", settledAmount: cost, settledAt: this.#now };
    state.changed = true;

    let transactionId: string | null = null;
    if (cost > 0) {
      transactionId = randomUUID();
      this.#newTransactions.push({
        id: transactionId,
        idempotencyKey: `job:${input.jobId}`,
        kind: "job",
        jobId: input.jobId,
      });
      this.#credit(transactionId, customer, -cost);
      if (operator) this.#credit(transactionId, operator, operatorAmount);
      this.#credit(transactionId, platform, platformAmount);
    }
    this.#jobUpdates.set(input.jobId, {
      jobId: input.jobId,
      status: input.status ?? "completed",
      promptTokens: input.promptTokens ?? null,
      completionTokens: input.completionTokens ?? null,
      cost,
      neuronId: input.neuronId ?? null,
      onlyIfRunning: false,
      writeUsage: true,
    });
    const settlement: Settlement = {
      jobId: input.jobId,
      cost,
      operatorAmount,
      platformAmount,
      transactionId,
      alreadySettled: false,
    };
    return success(() => settlement);
  }

  #releaseHold(input: ReleaseHoldInput): LedgerOutcome {
    const state = this.#holdsByJob.get(input.jobId);
    const result = (outcome: HoldRelease["outcome"], releasedAmount: number) =>
      success(
        (): HoldRelease => ({
          jobId: input.jobId,
          outcome,
          releasedAmount,
          jobMarked: this.#markedJobs.has(input.jobId),
        }),
      );
    if (state?.row.status === "settled") return result("already_settled", 0);
    // Whatever the hold's state, a job record still running is finished now: nothing will settle it.
    this.#jobUpdates.set(input.jobId, {
      jobId: input.jobId,
      status: input.status ?? "failed",
      promptTokens: null,
      completionTokens: null,
      cost: 0,
      neuronId: null,
      onlyIfRunning: true,
      writeUsage: false,
    });
    if (!state) return result("no_hold", 0);
    if (state.row.status === "released") return result("already_released", 0);
    const customer = this.#accountsById.get(state.row.ledgerAccountId);
    if (!customer) return failure("internal", "the ledger account of this hold is missing");
    customer.held -= state.row.amount;
    customer.changed = true;
    state.row = { ...state.row, status: "released", settledAt: this.#now };
    state.changed = true;
    return result("released", state.row.amount);
  }

  /** Writes everything the batch changed, one statement per table. */
  async write(): Promise<void> {
    await this.#writeHolds();
    await this.#writeLedger();
    await this.#writeJobs();
    if (this.#previouslySettled.size > 0) await this.#readPreviousSettlements();
  }

  async #writeHolds(): Promise<void> {
    if (this.#newJobs.length > 0) {
      await this.#tx.insert(jobs).values(this.#newJobs).onConflictDoNothing({ target: jobs.id });
    }
    const states = [...this.#holdsByJob.values()];
    const inserted = states.filter((state) => state.isNew);
    if (inserted.length > 0) {
      const rows = await this.#tx
        .insert(holds)
        .values(inserted.map((state) => state.row))
        .returning();
      for (const row of rows) this.#holdsByJob.get(row.jobId)!.row = row;
    }
    const changed = states.filter((state) => state.changed && !state.isNew);
    if (changed.length === 0) return;
    const values = changed.map(
      ({ row }) =>
        sql`(${row.id}::text, ${row.status}::text, ${bigintParameter(row.settledAmount)}::bigint, ${row.settledAt?.toISOString() ?? null}::timestamptz)`,
    );
    await this.#tx.execute(sql`
      update holds as target
      set status = source.status, settled_amount = source.settled_amount, settled_at = source.settled_at
      from (values ${sql.join(values, sql`, `)}) as source(id, status, settled_amount, settled_at)
      where target.id = source.id`);
  }

  async #writeLedger(): Promise<void> {
    if (this.#newTransactions.length > 0)
      await this.#tx.insert(ledgerTransactions).values(this.#newTransactions);
    if (this.#newEntries.length > 0) await this.#tx.insert(ledgerEntries).values(this.#newEntries);
    const changed = [...this.#accountsById.values()].filter((account) => account.changed);
    if (changed.length === 0) return;
    // Absolute figures, not increments: the rows are locked, so the batch's figures are the truth.
    const values = changed.map(
      (account) =>
        sql`(${account.id}::text, ${bigintParameter(account.balance)}::bigint, ${bigintParameter(account.held)}::bigint)`,
    );
    await this.#tx.execute(sql`
      update ledger_accounts as target
      set balance = source.balance, held = source.held
      from (values ${sql.join(values, sql`, `)}) as source(id, balance, held)
      where target.id = source.id`);
  }

  async #writeJobs(): Promise<void> {
    if (this.#jobUpdates.size === 0) return;
    const values = [...this.#jobUpdates.values()].map(
      (update) =>
        sql`(${update.jobId}::text, ${update.status}::text, ${bigintParameter(update.promptTokens)}::bigint, ${bigintParameter(update.completionTokens)}::bigint, ${bigintParameter(update.cost)}::bigint, ${update.neuronId}::text, ${this.#now.toISOString()}::timestamptz, ${update.onlyIfRunning}::boolean)`,
    );
    const updated = await executeRows<UpdatedJobRow>(
      this.#tx,
      sql`
      update jobs as target
      set status = source.status,
        prompt_tokens = coalesce(source.prompt_tokens, target.prompt_tokens),
        completion_tokens = coalesce(source.completion_tokens, target.completion_tokens),
        cost = source.cost,
        neuron_id = coalesce(source.neuron_id, target.neuron_id),
        finished_at = source.finished_at
      from (values ${sql.join(values, sql`, `)})
        as source(id, status, prompt_tokens, completion_tokens, cost, neuron_id, finished_at, only_if_running)
      where target.id = source.id and (not source.only_if_running or target.status = 'running')
      returning target.id, target.account_id, target.api_key_id, target.model, target.neuron_id,
        target.prompt_tokens, target.completion_tokens, target.cost`,
    );
    const usage: Array<typeof usageRecords.$inferInsert> = [];
    for (const job of updated) {
      this.#markedJobs.add(job.id);
      // A job settled without a job record (no `job` at placeHold, no recordJobStart) has no usage row.
      if (!this.#jobUpdates.get(job.id)?.writeUsage) continue;
      usage.push({
        id: randomUUID(),
        jobId: job.id,
        accountId: job.account_id,
        apiKeyId: job.api_key_id,
        model: job.model,
        neuronId: job.neuron_id,
        promptTokens: Number(job.prompt_tokens),
        completionTokens: Number(job.completion_tokens),
        cost: Number(job.cost),
        createdAt: this.#now,
      });
    }
    if (usage.length > 0) {
      await this.#tx.insert(usageRecords).values(usage).onConflictDoNothing({ target: usageRecords.jobId });
    }
  }

  /** What earlier settlements charged, rebuilt from their ledger entries, for calls that repeat them. */
  async #readPreviousSettlements(): Promise<void> {
    const jobIds = [...this.#previouslySettled];
    const rows = await this.#tx
      .select({
        jobId: ledgerTransactions.jobId,
        transactionId: ledgerTransactions.id,
        kind: ledgerAccounts.kind,
        amount: ledgerEntries.amount,
      })
      .from(ledgerTransactions)
      .innerJoin(ledgerEntries, eq(ledgerEntries.transactionId, ledgerTransactions.id))
      .innerJoin(ledgerAccounts, eq(ledgerAccounts.id, ledgerEntries.ledgerAccountId))
      .where(
        inArray(
          ledgerTransactions.idempotencyKey,
          jobIds.map((jobId) => `job:${jobId}`),
        ),
      );
    for (const jobId of jobIds) {
      const entries = rows.filter((row) => row.jobId === jobId);
      const sumOf = (kind: LedgerAccountKind) =>
        entries.filter((entry) => entry.kind === kind).reduce((total, entry) => total + entry.amount, 0);
      this.#previousSettlements.set(jobId, {
        jobId,
        cost: this.#holdsByJob.get(jobId)?.row.settledAmount ?? 0,
        operatorAmount: sumOf("operator_earnings"),
        platformAmount: sumOf("platform_revenue"),
        transactionId: entries[0]?.transactionId ?? null,
        alreadySettled: true,
      });
    }
  }

  #ownedAccount(accountId: string, kind: LedgerAccountKind): LedgerAccountState | undefined {
    const id = this.#accountIdsByOwner.get(ownerKey(accountId, kind));
    return id ? this.#accountsById.get(id) : undefined;
  }

  /** One ledger entry and the matching change to its account's running balance; zero amounts write nothing. */
  #credit(transactionId: string, account: LedgerAccountState, amount: number): void {
    if (amount === 0) return;
    this.#newEntries.push({ transactionId, ledgerAccountId: account.id, amount });
    account.balance += amount;
    account.changed = true;
  }
}

function operatorPart(cost: number, share: number): number {
  const shareInMillionths = BigInt(Math.round(share * Number(sharePrecision)));
  return Number((BigInt(cost) * shareInMillionths) / sharePrecision);
}

function ownerKey(accountId: string, kind: LedgerAccountKind): string {
  return `${accountId}\u0000${kind}`;
}

function success(value: () => unknown): LedgerOutcome {
  return { ok: true, value };
}

function failure(code: ErrorCode, message: string): LedgerOutcome {
  return { ok: false, error: new HelexaError(code, message) };
}

function bigintParameter(value: number | null): string | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value)) throw new RangeError(`amount is not a safe integer: ${value}`);
  return String(value);
}

export function formatCredits(microCredits: number): string {
  return (microCredits / 1_000_000).toFixed(6).replace(/\.?0+$/, "");
}

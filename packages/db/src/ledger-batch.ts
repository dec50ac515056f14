// SPDX-License-Identifier: PolyForm-Shield-1.0
// One flush of the ledger: a batch of holds, settlements and releases applied in one transaction.

import { randomUUID } from "node:crypto";
import { type ErrorCode, HelexaError } from "@helexa/protocol";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
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
  apiKeys,
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
  /** The API key of the hold's job when that key has a spend limit this batch tracks. */
  limitedKeyId?: string;
}

/** An API key a hold in this batch names: whose it is and, with a limit, how much of it is used. */
interface ApiKeyState {
  id: string;
  accountId: string;
  spendLimit: number | null;
  spent: number;
  /** The sum of the active holds of the key's jobs, kept in step as the batch places and ends them. */
  activeHeld: number;
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

interface ApiKeyRow {
  id: string;
  account_id: string;
  spend_limit: string | number | null;
  spent: string | number;
  active_held: string | number;
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
  readonly #apiKeysById = new Map<string, ApiKeyState>();
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
        const operatorAccountIds = operation.input.servedBy
          ? operation.input.servedBy.map((part) => part.operatorAccountId)
          : [operation.input.operatorAccountId];
        for (const operatorAccountId of new Set(operatorAccountIds)) {
          if (operatorAccountId) owners.push({ accountId: operatorAccountId, kind: "operator_earnings" });
        }
      }
    }
    for (const row of await lockLedgerAccounts(this.#tx, { ids: [...ids], owners })) {
      this.#accountsById.set(row.id, { ...row, changed: false });
      if (row.accountId) this.#accountIdsByOwner.set(ownerKey(row.accountId, row.kind), row.id);
    }
    await this.#readApiKeys(operations);
  }

  /**
   * A key's spend and active holds only change in transactions that hold its account's credit row
   * locked (a hold is placed on that account, a key belongs to that account, and #placeHold refuses a
   * key of another), and this batch took that lock above. Read now, in a statement after the lock, the
   * figures are therefore final until this batch commits: the limit check cannot race.
   */
  async #readApiKeys(operations: LedgerOperation[]): Promise<void> {
    const keyIds = new Set<string>();
    for (const operation of operations) {
      if (operation.type === "place" && operation.input.job?.apiKeyId)
        keyIds.add(operation.input.job.apiKeyId);
    }
    if (keyIds.size === 0) return;
    // Summed from the active holds (few, and indexed) rather than from the key's jobs (many, unindexed).
    const rows = await executeRows<ApiKeyRow>(
      this.#tx,
      sql`
        select api_key.id, api_key.account_id, api_key.spend_limit, api_key.spent,
          case when api_key.spend_limit is null then 0 else coalesce((
            select sum(hold.amount) from holds as hold join jobs as job on job.id = hold.job_id
            where hold.status = 'active' and job.api_key_id = api_key.id
          ), 0) end as active_held
        from api_keys as api_key
        where api_key.id in (${sql.join(
          [...keyIds].map((id) => sql`${id}`),
          sql`, `,
        )})`,
    );
    for (const row of rows) {
      this.#apiKeysById.set(row.id, {
        id: row.id,
        accountId: row.account_id,
        spendLimit: row.spend_limit === null ? null : Number(row.spend_limit),
        spent: Number(row.spent),
        activeHeld: Number(row.active_held),
      });
    }
    const limitedKeyIds = [...this.#apiKeysById.values()]
      .filter((key) => key.spendLimit !== null)
      .map((key) => key.id);
    // Holds this batch settles or releases may belong to those keys: their ends free part of the limit.
    const endingJobIds = operations
      .filter((operation) => operation.type !== "place" && this.#holdsByJob.has(operation.input.jobId))
      .map((operation) => operation.input.jobId);
    if (limitedKeyIds.length === 0 || endingJobIds.length === 0) return;
    const endingJobs = await this.#tx
      .select({ id: jobs.id, apiKeyId: jobs.apiKeyId })
      .from(jobs)
      .where(and(inArray(jobs.id, endingJobIds), inArray(jobs.apiKeyId, limitedKeyIds)));
    for (const job of endingJobs) {
      const state = this.#holdsByJob.get(job.id);
      if (state && job.apiKeyId) state.limitedKeyId = job.apiKeyId;
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
    const apiKeyId = input.job?.apiKeyId;
    const key = apiKeyId ? this.#apiKeysById.get(apiKeyId) : undefined;
    // An unknown key is left to the job record's foreign key, which fails the insert below.
    if (key && key.accountId !== input.accountId) {
      return failure("invalid_request", `API key ${key.id} does not belong to account ${input.accountId}`);
    }
    if (key && key.spendLimit !== null) {
      if (key.spent + key.activeHeld + input.amount > key.spendLimit)
        return spendLimitFailure(key, input.amount);
      key.activeHeld += input.amount;
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
      limitedKeyId: key && key.spendLimit !== null ? key.id : undefined,
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
    const cost = Math.min(input.cost, state.row.amount);
    const parts = input.servedBy
      ? scaleParts(input.servedBy, cost)
      : [{ operatorAccountId: input.operatorAccountId, cost }];
    const earnings = new Map<LedgerAccountState, number>();
    for (const part of parts) {
      if (!part.operatorAccountId) continue;
      const operator = this.#ownedAccount(part.operatorAccountId, "operator_earnings");
      if (!operator) {
        return failure("not_found", `operator account ${part.operatorAccountId} has no earnings account`);
      }
      const amount = operatorPart(part.cost, input.operatorShare ?? this.#defaultOperatorShare);
      earnings.set(operator, (earnings.get(operator) ?? 0) + amount);
    }
    const operatorAmount = [...earnings.values()].reduce((sum, amount) => sum + amount, 0);
    const platformAmount = cost - operatorAmount;
    customer.held -= state.row.amount;
    customer.changed = true;
    const key = state.limitedKeyId ? this.#apiKeysById.get(state.limitedKeyId) : undefined;
    if (key) {
      key.activeHeld -= state.row.amount;
      key.spent += cost;
    }
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
      for (const [operator, amount] of earnings) this.#credit(transactionId, operator, amount);
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
    const key = state.limitedKeyId ? this.#apiKeysById.get(state.limitedKeyId) : undefined;
    if (key) key.activeHeld -= state.row.amount;
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
    const spentByKey = new Map<string, number>();
    for (const job of updated) {
      this.#markedJobs.add(job.id);
      // A job settled without a job record (no `job` at placeHold, no recordJobStart) has no usage row.
      if (!this.#jobUpdates.get(job.id)?.writeUsage) continue;
      const cost = Number(job.cost);
      if (job.api_key_id && cost > 0)
        spentByKey.set(job.api_key_id, (spentByKey.get(job.api_key_id) ?? 0) + cost);
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
    if (spentByKey.size > 0) await this.#writeApiKeySpending(spentByKey);
  }

  /** What each key was charged, in the settlement's own transaction, so `spent` never drifts from its jobs. */
  async #writeApiKeySpending(spentByKey: Map<string, number>): Promise<void> {
    const keyIds = [...spentByKey.keys()];
    // In id order, like the API key store's last-used writes, so the two cannot deadlock.
    await this.#tx
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(inArray(apiKeys.id, keyIds))
      .orderBy(asc(apiKeys.id))
      .for("update");
    const values = keyIds.map(
      (keyId) => sql`(${keyId}::text, ${bigintParameter(spentByKey.get(keyId)!)}::bigint)`,
    );
    await this.#tx.execute(sql`
      update api_keys as target set spent = target.spent + source.amount
      from (values ${sql.join(values, sql`, `)}) as source(id, amount)
      where target.id = source.id`);
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

/** Parts of a cost that was clamped to its hold, shrunk in proportion; the last takes the rounding. */
function scaleParts(
  parts: NonNullable<SettleHoldInput["servedBy"]>,
  cost: number,
): Array<{ operatorAccountId: string | null; cost: number }> {
  const total = parts.reduce((sum, part) => sum + part.cost, 0);
  let left = cost;
  return parts.map((part, index) => {
    const scaled = index === parts.length - 1 ? left : total > 0 ? Math.floor((part.cost * cost) / total) : 0;
    left -= scaled;
    return { operatorAccountId: part.operatorAccountId, cost: scaled };
  });
}

function operatorPart(cost: number, share: number): number {
  const shareInMillionths = BigInt(Math.round(share * Number(sharePrecision)));
  return Number((BigInt(cost) * shareInMillionths) / sharePrecision);
}

function ownerKey(accountId: string, kind: LedgerAccountKind): string {
  return `${accountId}\u0000${kind}`;
}

function spendLimitFailure(
  key: { spendLimit: number | null; spent: number; activeHeld: number },
  amount: number,
): LedgerOutcome {
  return failure(
    "insufficient_quota",
    `this API key has reached its spend limit: it may spend ${formatCredits(key.spendLimit ?? 0)} credits, ` +
      `has spent ${formatCredits(key.spent)} and has ${formatCredits(key.activeHeld)} held for running requests, ` +
      `and this request may cost up to ${formatCredits(amount)} credits`,
  );
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

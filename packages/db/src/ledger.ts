// SPDX-License-Identifier: PolyForm-Shield-1.0
// The credit ledger: grants, balances, and holds and settlements group-committed in short batches.

import { randomUUID } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { and, eq, sql } from "drizzle-orm";
import { applyLedgerBatch, formatCredits, type LedgerOutcome } from "./ledger-batch.js";
import type {
  Balance,
  GrantCreditsInput,
  GrantResult,
  Hold,
  HoldRelease,
  LedgerOperation,
  PlaceHoldInput,
  ReleaseHoldInput,
  SettleHoldInput,
  Settlement,
} from "./ledger-types.js";
import { lockLedgerAccounts } from "./lock-ledger-accounts.js";
import type { DrizzleDatabase, DrizzleTransaction } from "./open-database.js";
import { placeLoneHold } from "./place-hold-statement.js";
import {
  type LedgerAccountKind,
  ledgerAccounts,
  ledgerEntries,
  ledgerTransactions,
  platformLedgerAccountIds,
} from "./schema.js";

export interface LedgerOptions {
  db: DrizzleDatabase;
  /**
   * How long the first call of a batch waits for company. 0 (the default) flushes on the next turn
   * of the event loop; calls that arrive while a flush runs go in the next one either way.
   */
  flushWindowMs?: number;
  /** The most calls one transaction takes. */
  maxBatchSize?: number;
  /**
   * "batched" (the default) is group commit. "per-call" gives every call its own transaction, run
   * concurrently: the baseline the benchmark compares against, and a way to rule batching out.
   */
  mode?: "batched" | "per-call";
  /** The operator's fraction when a settlement does not say. */
  defaultOperatorShare?: number;
}

export const defaultOperatorShare = 0.7;

/** A queued call and how to answer its caller. */
type PendingOperation = LedgerOperation & {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

/**
 * Holds and settlements are exact, but one transaction per call would make the hottest row (the
 * platform's revenue account, a busy customer's credit) set the request rate. So calls queue, and one
 * transaction per flush applies them all: rows locked in id order (holds first, then ledger accounts,
 * the same order in every transaction, so two cortex nodes cannot deadlock), each call checked against
 * the running balances in arrival order, every row written once. A call that fails its own check
 * (insufficient credit, unknown job) fails alone; a batch the database rejects is retried call by call
 * so that one bad call cannot fail the others. Results are delivered only after the commit.
 */
export class Ledger {
  readonly #db: DrizzleDatabase;
  readonly #flushWindowMs: number;
  readonly #maxBatchSize: number;
  readonly #mode: "batched" | "per-call";
  readonly #defaultOperatorShare: number;
  #queue: PendingOperation[] = [];
  #scheduled = false;
  #draining = false;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: LedgerOptions) {
    this.#db = options.db;
    this.#flushWindowMs = options.flushWindowMs ?? 0;
    this.#maxBatchSize = options.maxBatchSize ?? 256;
    this.#mode = options.mode ?? "batched";
    this.#defaultOperatorShare = options.defaultOperatorShare ?? defaultOperatorShare;
    requireShare(this.#defaultOperatorShare);
  }

  /**
   * Moves credit from the funding account to the customer's, once per idempotency key. With
   * `transaction`, the grant is written in the caller's transaction and commits (or not) with the
   * caller's other writes: how a purchase is marked paid and credited as one change.
   */
  async grantCredits(
    input: GrantCreditsInput,
    options: { transaction?: DrizzleTransaction } = {},
  ): Promise<GrantResult> {
    requireAmount(input.amount, "amount", { allowZero: false });
    if (!input.idempotencyKey) throw new HelexaError("invalid_request", "idempotencyKey is required");
    if (options.transaction) return applyGrant(options.transaction, input);
    return this.#db.transaction((tx) => applyGrant(tx, input));
  }

  /** The account's credit (or, with kind operator_earnings, what it has earned as an operator). */
  async getBalance(
    accountId: string,
    options: { kind?: Extract<LedgerAccountKind, "customer_credit" | "operator_earnings"> } = {},
  ): Promise<Balance> {
    const account = await findLedgerAccount(this.#db, accountId, options.kind ?? "customer_credit");
    return { balance: account.balance, held: account.held, available: account.balance - account.held };
  }

  /** Reserves the job's worst-case cost; rejects with insufficient_quota when the account cannot cover it. */
  placeHold(input: PlaceHoldInput): Promise<Hold> {
    try {
      requireJobId(input.jobId);
      requireAmount(input.amount, "amount", { allowZero: false });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue<Hold>({ type: "place", input });
  }

  /**
   * Charges the job's cost from its hold: the operator's share to their earnings, the rest to the
   * platform, in one ledger transaction keyed "job:<jobId>"; the job record's final state and its usage
   * record commit with it. Settling a settled job changes nothing and answers the first settlement.
   */
  settleHold(input: SettleHoldInput): Promise<Settlement> {
    try {
      requireJobId(input.jobId);
      requireAmount(input.cost, "cost", { allowZero: true });
      requireShare(input.operatorShare ?? this.#defaultOperatorShare);
      requireAmount(input.promptTokens ?? 0, "promptTokens", { allowZero: true });
      requireAmount(input.completionTokens ?? 0, "completionTokens", { allowZero: true });
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue<Settlement>({ type: "settle", input });
  }

  /** Frees a hold that produced nothing billable and marks a still-running job failed (or cancelled). */
  releaseHold(input: ReleaseHoldInput): Promise<HoldRelease> {
    try {
      requireJobId(input.jobId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue<HoldRelease>({ type: "release", input });
  }

  /** Resolves once every call made so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Refuses new calls and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #enqueue<Result>(call: LedgerOperation): Promise<Result> {
    if (this.#closed) return Promise.reject(new HelexaError("internal", "the ledger is closed"));
    let operation!: PendingOperation;
    const promise = new Promise<Result>((resolve, reject) => {
      operation = { ...call, resolve: resolve as (value: unknown) => void, reject };
    });
    const tracked = promise.catch(() => {});
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
    if (this.#mode === "per-call") {
      void this.#runBatch([operation]);
    } else {
      this.#queue.push(operation);
      this.#schedule();
    }
    return promise;
  }

  #schedule(): void {
    if (this.#scheduled || this.#draining) return;
    this.#scheduled = true;
    const start = () => {
      this.#scheduled = false;
      void this.#drain();
    };
    if (this.#flushWindowMs > 0) setTimeout(start, this.#flushWindowMs);
    else setImmediate(start);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      // Whatever queued while a flush ran goes in the next one at once: it has waited a flush already.
      while (this.#queue.length > 0) {
        await this.#runBatch(this.#queue.splice(0, this.#maxBatchSize));
      }
    } finally {
      this.#draining = false;
    }
  }

  async #runBatch(operations: PendingOperation[]): Promise<void> {
    const [only] = operations;
    // The per-call mode stays the plain one-transaction-per-call baseline the benchmark compares against.
    const lone = this.#mode === "batched" && operations.length === 1 && only?.type === "place";
    if (lone && (await this.#placeLoneHold(only))) return;
    let outcomes: LedgerOutcome[];
    try {
      const defaultOperatorShare = this.#defaultOperatorShare;
      outcomes = await this.#db.transaction((tx) =>
        applyLedgerBatch({ tx, operations, defaultOperatorShare }),
      );
    } catch (error) {
      if (operations.length > 1) {
        for (const operation of operations) await this.#runBatch([operation]);
        return;
      }
      operations[0]?.reject(
        HelexaError.is(error)
          ? error
          : new HelexaError("internal", "the ledger write failed", { cause: error }),
      );
      return;
    }
    operations.forEach((operation, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) operation.resolve(outcome.value());
      else operation.reject(outcome.error);
    });
  }

  /** True when the hold was decided in one statement; false leaves it to the batch path. */
  async #placeLoneHold(operation: Extract<PendingOperation, { type: "place" }>): Promise<boolean> {
    const outcome = await placeLoneHold(this.#db, operation.input).catch(
      () => ({ kind: "undecided" }) as const,
    );
    if (outcome.kind === "placed") operation.resolve(outcome.hold);
    else if (outcome.kind === "insufficient") {
      operation.reject(
        new HelexaError(
          "insufficient_quota",
          `insufficient credit: this request may cost up to ${formatCredits(operation.input.amount)} credits ` +
            `and ${formatCredits(Math.max(outcome.available, 0))} are available`,
        ),
      );
    } else return false;
    return true;
  }
}

/** A grant written in the given transaction: Ledger.grantCredits opens one or joins the caller's. */
async function applyGrant(tx: DrizzleTransaction, input: GrantCreditsInput): Promise<GrantResult> {
  const customer = await findLedgerAccount(tx, input.accountId, "customer_credit");
  const transactionId = randomUUID();
  // Inserting the key first makes a concurrent grant with the same key wait here, then do nothing.
  const inserted = await tx
    .insert(ledgerTransactions)
    .values({
      id: transactionId,
      idempotencyKey: input.idempotencyKey,
      kind: input.kind ?? "grant",
      description: input.description ?? null,
    })
    .onConflictDoNothing({ target: ledgerTransactions.idempotencyKey })
    .returning({ id: ledgerTransactions.id });
  if (inserted.length === 0) {
    const [existing] = await tx
      .select({ id: ledgerTransactions.id })
      .from(ledgerTransactions)
      .where(eq(ledgerTransactions.idempotencyKey, input.idempotencyKey));
    return { transactionId: existing!.id, alreadyApplied: true };
  }
  const fundingId = platformLedgerAccountIds.funding;
  const locked = await lockLedgerAccounts(tx, { ids: [fundingId, customer.id] });
  const fundingBalance = locked.find((row) => row.id === fundingId)?.balance;
  const customerBalance = locked.find((row) => row.id === customer.id)?.balance;
  if (fundingBalance === undefined || customerBalance === undefined) {
    throw new HelexaError("internal", "the funding ledger account is missing");
  }
  if (
    customerBalance + input.amount > Number.MAX_SAFE_INTEGER ||
    fundingBalance - input.amount < -Number.MAX_SAFE_INTEGER
  ) {
    const message = "the grant would take a balance past the largest exact amount";
    throw new HelexaError("invalid_request", message, { param: "amount" });
  }
  await tx.insert(ledgerEntries).values([
    { transactionId, ledgerAccountId: fundingId, amount: -input.amount },
    { transactionId, ledgerAccountId: customer.id, amount: input.amount },
  ]);
  await tx
    .update(ledgerAccounts)
    .set({ balance: sql`${ledgerAccounts.balance} + ${String(input.amount)}::bigint` })
    .where(eq(ledgerAccounts.id, customer.id));
  await tx
    .update(ledgerAccounts)
    .set({ balance: sql`${ledgerAccounts.balance} - ${String(input.amount)}::bigint` })
    .where(eq(ledgerAccounts.id, fundingId));
  return { transactionId, alreadyApplied: false };
}

async function findLedgerAccount(
  executor: DrizzleDatabase | DrizzleTransaction,
  accountId: string,
  kind: LedgerAccountKind,
) {
  const [account] = await executor
    .select()
    .from(ledgerAccounts)
    .where(and(eq(ledgerAccounts.accountId, accountId), eq(ledgerAccounts.kind, kind)))
    .limit(1);
  if (!account) throw new HelexaError("not_found", `account ${accountId} has no ${kind} ledger account`);
  return account;
}

function requireJobId(jobId: unknown): void {
  if (typeof jobId !== "string" || jobId.length === 0) {
    throw new HelexaError("invalid_request", "jobId must be a non-empty string");
  }
}

function requireAmount(value: unknown, name: string, options: { allowZero: boolean }): void {
  const valid =
    typeof value === "number" && Number.isSafeInteger(value) && (options.allowZero ? value >= 0 : value > 0);
  if (!valid) {
    throw new HelexaError(
      "invalid_request",
      `${name} must be a ${options.allowZero ? "non-negative" : "positive"} integer (micro-credits or tokens)`,
      { param: name },
    );
  }
}

function requireShare(share: unknown): void {
  if (typeof share !== "number" || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new HelexaError("invalid_request", "operatorShare must be a number from 0 to 1", {
      param: "operatorShare",
    });
  }
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The ledger's inputs and results, shared by the Ledger's queue and the batch that writes them.

import type { holds, JobStatus, LedgerTransactionKind } from "./schema.js";

export type Hold = typeof holds.$inferSelect;

export interface Balance {
  /** Micro-credits: the sum of the account's ledger entries. */
  balance: number;
  /** Micro-credits promised to running jobs. */
  held: number;
  /** What a new hold may take: balance - held. */
  available: number;
}

export interface GrantCreditsInput {
  accountId: string;
  /** Micro-credits, positive. */
  amount: number;
  /** A Stripe event id, an admin action's id: the same key never grants twice. */
  idempotencyKey: string;
  kind?: Extract<LedgerTransactionKind, "grant" | "purchase">;
  description?: string;
}

export interface GrantResult {
  transactionId: string;
  /** True when the key had been used before and nothing changed now. */
  alreadyApplied: boolean;
}

export interface PlaceHoldInput {
  jobId: string;
  accountId: string;
  /** Micro-credits, positive: the request's worst-case cost. */
  amount: number;
  /** When given, the job's durable record is written in the same transaction as its hold. */
  job?: { apiKeyId?: string | null; model: string };
}

export interface SettleHoldInput {
  jobId: string;
  /** Micro-credits the job cost. More than the hold is clamped to the hold: a request never pays past its cap. */
  cost: number;
  /** The account that earns the operator's share, or null when the platform served the job itself. */
  operatorAccountId: string | null;
  /** The operator's fraction, 0..1; its micro-credits are rounded down and the platform keeps the rest. */
  operatorShare?: number;
  promptTokens?: number;
  completionTokens?: number;
  neuronId?: string | null;
  /** A failed or cancelled job still pays for the tokens its client received. */
  status?: Exclude<JobStatus, "running">;
  /**
   * A job that moved between neurons (failover): the part of `cost` each neuron served, in order. Each
   * operator earns its share of its own part; `operatorAccountId` is then not used. The parts add up to
   * `cost`; when the cost is clamped to the hold, they shrink in proportion.
   */
  servedBy?: Array<{ operatorAccountId: string | null; cost: number }>;
}

export interface Settlement {
  jobId: string;
  /** Micro-credits charged: the cost, clamped to the hold. */
  cost: number;
  operatorAmount: number;
  platformAmount: number;
  /** Null when nothing was charged (a zero cost writes no ledger transaction). */
  transactionId: string | null;
  /** True when the job had been settled before; the figures are those of that settlement. */
  alreadySettled: boolean;
}

export interface ReleaseHoldInput {
  jobId: string;
  /** The job record's final status when it is still running. */
  status?: Extract<JobStatus, "failed" | "cancelled">;
}

export interface HoldRelease {
  jobId: string;
  outcome: "released" | "already_released" | "already_settled" | "no_hold";
  releasedAmount: number;
  /** Whether a running job record was marked finished by this call. */
  jobMarked: boolean;
}

/** One queued ledger call. */
export type LedgerOperation =
  | { type: "place"; input: PlaceHoldInput }
  | { type: "settle"; input: SettleHoldInput }
  | { type: "release"; input: ReleaseHoldInput };

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Accounts (people and organisations) and the ledger accounts each one owns from the moment it exists.

import { randomUUID } from "node:crypto";
import { and, asc, count, desc, eq, ilike, isNull, or, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { announceNeuronRevocation } from "./neuron-revocations.js";
import type { DrizzleDatabase, DrizzleExecutor, DrizzleTransaction } from "./open-database.js";
import {
  type AccountRole,
  accounts,
  authSessions,
  ledgerAccounts,
  platformLedgerAccountIds,
} from "./schema.js";

export type Account = typeof accounts.$inferSelect;

export interface CreateAccountInput {
  email?: string | null;
  name: string;
  role?: AccountRole;
  /** An argon2id hash made by the caller; the store never sees a password. */
  passwordHash?: string | null;
  emailVerifiedAt?: Date | null;
}

/** One row of the admin's account list: the account and what its ledger accounts hold. */
export interface AccountWithBalances {
  id: string;
  email: string | null;
  name: string;
  role: AccountRole;
  createdAt: Date;
  suspendedAt: Date | null;
  emailVerifiedAt: Date | null;
  /** Micro-credits on the customer_credit ledger account. */
  balance: number;
  /** Micro-credits of that balance promised to running jobs. */
  held: number;
  /** Micro-credits on the operator_earnings ledger account. */
  earnings: number;
}

export interface AccountStore {
  /** Creates the account with its customer_credit and operator_earnings ledger accounts, atomically. */
  createAccount(input: CreateAccountInput): Promise<Account>;
  /**
   * Creates the account as an admin when no account exists yet, else as a user. Safe when several
   * sign-ups race on an empty install (or several cortex nodes share it): exactly one becomes admin.
   */
  createAccountFirstIsAdmin(input: Omit<CreateAccountInput, "role">): Promise<Account>;
  countAccounts(): Promise<number>;
  getAccount(accountId: string): Promise<Account | null>;
  /** Emails are compared trimmed and lower-cased: they are stored that way. */
  findAccountByEmail(email: string): Promise<Account | null>;
  listAccounts(options?: { limit?: number; offset?: number }): Promise<Account[]>;
  /** Newest first; `search` matches part of the email or the name, ignoring case. */
  listAccountsWithBalances(options: {
    limit: number;
    offset: number;
    search?: string;
  }): Promise<{ accounts: AccountWithBalances[]; total: number }>;
  /** False when there is no such account. A null hash leaves the account with no password sign-in. */
  setPasswordHash(input: { accountId: string; passwordHash: string | null }): Promise<boolean>;
  /** Keeps the first verification time when it was verified before. False when there is no such account. */
  markEmailVerified(accountId: string): Promise<boolean>;
  /**
   * Suspending ends the account's sessions too, so lifting the suspension later does not bring old
   * sign-ins back. Suspending twice keeps the first time. False when there is no such account.
   */
  setSuspended(input: { accountId: string; suspended: boolean }): Promise<boolean>;
  setRole(input: { accountId: string; role: AccountRole }): Promise<boolean>;
  /** The funding and platform_revenue ledger accounts; the migrations create them, this repairs their absence. */
  ensurePlatformAccounts(): Promise<void>;
}

export function createAccountStore(options: { db: DrizzleDatabase }): AccountStore {
  const { db } = options;
  return {
    createAccount(input) {
      return db.transaction((tx) => insertAccount(tx, input));
    },

    createAccountFirstIsAdmin(input) {
      return db.transaction(async (tx) =>
        insertAccount(tx, { ...input, role: await chooseFirstAccountRole(tx) }),
      );
    },

    async countAccounts() {
      const [row] = await db.select({ count: count() }).from(accounts);
      return Number(row?.count ?? 0);
    },

    async getAccount(accountId) {
      const [account] = await db.select().from(accounts).where(eq(accounts.id, accountId)).limit(1);
      return account ?? null;
    },

    findAccountByEmail(email) {
      return findAccountByEmail(db, email);
    },

    async listAccounts(listOptions = {}) {
      return db
        .select()
        .from(accounts)
        .orderBy(asc(accounts.createdAt), asc(accounts.id))
        .limit(listOptions.limit ?? 100)
        .offset(listOptions.offset ?? 0);
    },

    async listAccountsWithBalances(listOptions) {
      const credit = alias(ledgerAccounts, "credit");
      const earnings = alias(ledgerAccounts, "earnings");
      const search = listOptions.search?.trim();
      let condition: SQL | undefined;
      if (search) {
        const pattern = `%${escapeLikePattern(search)}%`;
        condition = or(ilike(accounts.email, pattern), ilike(accounts.name, pattern));
      }
      const rows = await db
        .select({
          id: accounts.id,
          email: accounts.email,
          name: accounts.name,
          role: accounts.role,
          createdAt: accounts.createdAt,
          suspendedAt: accounts.suspendedAt,
          emailVerifiedAt: accounts.emailVerifiedAt,
          balance: credit.balance,
          held: credit.held,
          earnings: earnings.balance,
        })
        .from(accounts)
        .leftJoin(credit, and(eq(credit.accountId, accounts.id), eq(credit.kind, "customer_credit")))
        .leftJoin(earnings, and(eq(earnings.accountId, accounts.id), eq(earnings.kind, "operator_earnings")))
        .where(condition)
        .orderBy(desc(accounts.createdAt), desc(accounts.id))
        .limit(listOptions.limit)
        .offset(listOptions.offset);
      const [total] = await db.select({ count: count() }).from(accounts).where(condition);
      return {
        accounts: rows.map((row) => ({
          ...row,
          balance: row.balance ?? 0,
          held: row.held ?? 0,
          earnings: row.earnings ?? 0,
        })),
        total: Number(total?.count ?? 0),
      };
    },

    async setPasswordHash(input) {
      const updated = await db
        .update(accounts)
        .set({ passwordHash: input.passwordHash })
        .where(eq(accounts.id, input.accountId))
        .returning({ id: accounts.id });
      return updated.length > 0;
    },

    async markEmailVerified(accountId) {
      const updated = await db
        .update(accounts)
        .set({ emailVerifiedAt: sql`coalesce(${accounts.emailVerifiedAt}, now())` })
        .where(eq(accounts.id, accountId))
        .returning({ id: accounts.id });
      return updated.length > 0;
    },

    setSuspended(input) {
      return db.transaction(async (tx) => {
        const updated = await tx
          .update(accounts)
          .set({ suspendedAt: input.suspended ? sql`coalesce(${accounts.suspendedAt}, now())` : null })
          .where(eq(accounts.id, input.accountId))
          .returning({ id: accounts.id });
        if (updated.length === 0) return false;
        if (input.suspended) {
          await tx
            .update(authSessions)
            .set({ endedAt: new Date() })
            .where(and(eq(authSessions.accountId, input.accountId), isNull(authSessions.endedAt)));
          // Its neurons' tokens stop verifying; every cortex closes their sessions on commit.
          await announceNeuronRevocation(tx, { reason: "account_suspended", accountId: input.accountId });
        }
        return true;
      });
    },

    async setRole(input) {
      const updated = await db
        .update(accounts)
        .set({ role: input.role })
        .where(eq(accounts.id, input.accountId))
        .returning({ id: accounts.id });
      return updated.length > 0;
    },

    async ensurePlatformAccounts() {
      await db
        .insert(ledgerAccounts)
        .values([
          { id: platformLedgerAccountIds.platformRevenue, accountId: null, kind: "platform_revenue" },
          { id: platformLedgerAccountIds.funding, accountId: null, kind: "funding" },
        ])
        .onConflictDoNothing();
    },
  };
}

/** Inserts the account and its two ledger accounts; the caller's transaction makes them one change. */
export async function insertAccount(tx: DrizzleTransaction, input: CreateAccountInput): Promise<Account> {
  const id = randomUUID();
  const [account] = await tx
    .insert(accounts)
    .values({
      id,
      email: input.email ? normalizeEmail(input.email) : null,
      name: input.name,
      role: input.role ?? "user",
      passwordHash: input.passwordHash ?? null,
      emailVerifiedAt: input.emailVerifiedAt ?? null,
    })
    .returning();
  await tx.insert(ledgerAccounts).values([
    { id: randomUUID(), accountId: id, kind: "customer_credit" },
    { id: randomUUID(), accountId: id, kind: "operator_earnings" },
  ]);
  return account!;
}

// Hashed by PostgreSQL into the 64-bit key advisory locks take; shared by every helexa process.
const firstAccountLockKey = "helexa:db:first-account";

/**
 * "admin" when no account exists yet. The transaction-scoped advisory lock makes concurrent callers
 * take turns until commit, and each one's count (a new snapshot under read committed) sees the
 * accounts made before it, so an empty install gets exactly one admin.
 */
export async function chooseFirstAccountRole(tx: DrizzleTransaction): Promise<AccountRole> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${firstAccountLockKey}, 0))`);
  // Service accounts without a sign-in (the one `helexa up` makes for its key and neuron) do not count:
  // the first person to sign up on an install without an admin becomes it.
  const [admin] = await tx
    .select({ id: accounts.id })
    .from(accounts)
    .where(eq(accounts.role, "admin"))
    .limit(1);
  return admin ? "user" : "admin";
}

export async function findAccountByEmail(executor: DrizzleExecutor, email: string): Promise<Account | null> {
  const [account] = await executor
    .select()
    .from(accounts)
    .where(eq(accounts.email, normalizeEmail(email)))
    .limit(1);
  return account ?? null;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** `%`, `_` and `\` typed in a search box are meant literally. */
function escapeLikePattern(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

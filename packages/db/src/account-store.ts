// SPDX-License-Identifier: PolyForm-Shield-1.0
// Accounts (people and organisations) and the ledger accounts each one owns from the moment it exists.

import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import type { DrizzleDatabase } from "./open-database.js";
import { type AccountRole, accounts, ledgerAccounts, platformLedgerAccountIds } from "./schema.js";

export type Account = typeof accounts.$inferSelect;

export interface CreateAccountInput {
  email?: string | null;
  name: string;
  role?: AccountRole;
}

export interface AccountStore {
  /** Creates the account with its customer_credit and operator_earnings ledger accounts, atomically. */
  createAccount(input: CreateAccountInput): Promise<Account>;
  getAccount(accountId: string): Promise<Account | null>;
  /** Emails are compared lower-cased: they are stored that way. */
  findAccountByEmail(email: string): Promise<Account | null>;
  listAccounts(options?: { limit?: number; offset?: number }): Promise<Account[]>;
  /** The funding and platform_revenue ledger accounts; the migrations create them, this repairs their absence. */
  ensurePlatformAccounts(): Promise<void>;
}

export function createAccountStore(options: { db: DrizzleDatabase }): AccountStore {
  const { db } = options;
  return {
    async createAccount(input) {
      const id = randomUUID();
      return db.transaction(async (tx) => {
        const [account] = await tx
          .insert(accounts)
          .values({
            id,
            email: input.email ? normalizeEmail(input.email) : null,
            name: input.name,
            role: input.role ?? "user",
          })
          .returning();
        await tx.insert(ledgerAccounts).values([
          { id: randomUUID(), accountId: id, kind: "customer_credit" },
          { id: randomUUID(), accountId: id, kind: "operator_earnings" },
        ]);
        return account!;
      });
    },

    async getAccount(accountId) {
      const [account] = await db.select().from(accounts).where(eq(accounts.id, accountId)).limit(1);
      return account ?? null;
    },

    async findAccountByEmail(email) {
      const [account] = await db
        .select()
        .from(accounts)
        .where(eq(accounts.email, normalizeEmail(email)))
        .limit(1);
      return account ?? null;
    },

    async listAccounts(listOptions = {}) {
      return db
        .select()
        .from(accounts)
        .orderBy(asc(accounts.createdAt), asc(accounts.id))
        .limit(listOptions.limit ?? 100)
        .offset(listOptions.offset ?? 0);
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

function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// API keys: created and shown once, stored as a sha256 hash, verified per request, revoked.

import { randomUUID } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { and, asc, desc, eq, inArray, isNull } from "drizzle-orm";
import { createLastUsedBatcher } from "./last-used-batcher.js";
import type { DrizzleDatabase } from "./open-database.js";
import { accounts, apiKeys } from "./schema.js";
import { generateSecretToken, hashSecretToken, looksLikeSecretToken } from "./secret-token.js";

export const apiKeyPrefix = "sk-hx-";

export type ApiKeyRecord = Omit<typeof apiKeys.$inferSelect, "secretHash">;

export interface VerifiedApiKey {
  keyId: string;
  accountId: string;
  /** Micro-credits the key may spend in all, or null; the ledger enforces it when a hold is placed. */
  spendLimit: number | null;
  /** Requests per minute, or null; counting them is the caller's work. */
  rateLimitPerMinute: number | null;
}

export interface CreateApiKeyInput {
  accountId: string;
  name: string;
  /** Micro-credits, positive; null or absent for no limit beyond the account's balance. */
  spendLimit?: number | null;
  /** Positive; null or absent for no limit. */
  rateLimitPerMinute?: number | null;
}

export interface ApiKeyStore {
  /** The key is in the result and nowhere else: only its hash is stored. */
  createApiKey(input: CreateApiKeyInput): Promise<{ id: string; key: string; prefix: string }>;
  /** The key's id, account and limits, or null when the key is unknown, malformed or revoked, or its account suspended. */
  verifyApiKey(key: string): Promise<VerifiedApiKey | null>;
  /** True when a key was revoked now; false when it was unknown or already revoked. */
  revokeApiKey(input: { keyId: string; accountId?: string }): Promise<boolean>;
  listApiKeys(accountId: string): Promise<ApiKeyRecord[]>;
  /** Writes the pending last_used_at times now. */
  flushLastUsed(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ApiKeyStoreOptions {
  db: DrizzleDatabase;
  /**
   * last_used_at is a hint for people, not an audit trail, so a verify does not write: keys seen are
   * remembered and written together at most this often.
   */
  lastUsedFlushIntervalMs?: number;
}

export function createApiKeyStore(options: ApiKeyStoreOptions): ApiKeyStore {
  const { db } = options;
  const lastUsed = createLastUsedBatcher({
    intervalMs: options.lastUsedFlushIntervalMs ?? 30_000,
    write: async (keyIds, at) => {
      // Locked in id order first, as a settlement locks the keys it charges, so the two cannot deadlock.
      await db.transaction(async (tx) => {
        await tx
          .select({ id: apiKeys.id })
          .from(apiKeys)
          .where(inArray(apiKeys.id, keyIds))
          .orderBy(asc(apiKeys.id))
          .for("update");
        await tx.update(apiKeys).set({ lastUsedAt: at }).where(inArray(apiKeys.id, keyIds));
      });
    },
  });

  return {
    async createApiKey(input) {
      const spendLimit = input.spendLimit ?? null;
      const rateLimitPerMinute = input.rateLimitPerMinute ?? null;
      if (spendLimit !== null && !(Number.isSafeInteger(spendLimit) && spendLimit > 0)) {
        throw new HelexaError("invalid_request", "spendLimit must be a positive integer (micro-credits)", {
          param: "spendLimit",
        });
      }
      if (
        rateLimitPerMinute !== null &&
        !(Number.isSafeInteger(rateLimitPerMinute) && rateLimitPerMinute > 0)
      ) {
        throw new HelexaError("invalid_request", "rateLimitPerMinute must be a positive integer", {
          param: "rateLimitPerMinute",
        });
      }
      const secret = generateSecretToken({ prefix: apiKeyPrefix });
      const id = randomUUID();
      await db.insert(apiKeys).values({
        id,
        accountId: input.accountId,
        name: input.name,
        prefix: secret.prefix,
        secretHash: secret.hash,
        spendLimit,
        rateLimitPerMinute,
      });
      return { id, key: secret.token, prefix: secret.prefix };
    },

    async verifyApiKey(key) {
      if (!looksLikeSecretToken(key, { prefix: apiKeyPrefix })) return null;
      const [row] = await db
        .select({
          keyId: apiKeys.id,
          accountId: apiKeys.accountId,
          spendLimit: apiKeys.spendLimit,
          rateLimitPerMinute: apiKeys.rateLimitPerMinute,
        })
        .from(apiKeys)
        .innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
        .where(
          and(
            eq(apiKeys.secretHash, hashSecretToken(key)),
            isNull(apiKeys.revokedAt),
            isNull(accounts.suspendedAt),
          ),
        )
        .limit(1);
      if (!row) return null;
      lastUsed.touch(row.keyId);
      return row;
    },

    async revokeApiKey(input) {
      const conditions = [eq(apiKeys.id, input.keyId), isNull(apiKeys.revokedAt)];
      if (input.accountId !== undefined) conditions.push(eq(apiKeys.accountId, input.accountId));
      const revoked = await db
        .update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(and(...conditions))
        .returning({ id: apiKeys.id });
      return revoked.length > 0;
    },

    async listApiKeys(accountId) {
      return db
        .select({
          id: apiKeys.id,
          accountId: apiKeys.accountId,
          name: apiKeys.name,
          prefix: apiKeys.prefix,
          spendLimit: apiKeys.spendLimit,
          rateLimitPerMinute: apiKeys.rateLimitPerMinute,
          spent: apiKeys.spent,
          createdAt: apiKeys.createdAt,
          lastUsedAt: apiKeys.lastUsedAt,
          revokedAt: apiKeys.revokedAt,
        })
        .from(apiKeys)
        .where(eq(apiKeys.accountId, accountId))
        .orderBy(desc(apiKeys.createdAt));
    },

    flushLastUsed: () => lastUsed.flush(),
    close: () => lastUsed.close(),
    [Symbol.asyncDispose]: () => lastUsed.close(),
  };
}

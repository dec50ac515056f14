// SPDX-License-Identifier: PolyForm-Shield-1.0
// API keys: created and shown once, stored as a sha256 hash, verified per request, revoked.

import { randomUUID } from "node:crypto";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import { createLastUsedBatcher } from "./last-used-batcher.js";
import type { DrizzleDatabase } from "./open-database.js";
import { apiKeys } from "./schema.js";
import { generateSecretToken, hashSecretToken, looksLikeSecretToken } from "./secret-token.js";

export const apiKeyPrefix = "sk-hx-";

export type ApiKeyRecord = Omit<typeof apiKeys.$inferSelect, "secretHash">;

export interface VerifiedApiKey {
  keyId: string;
  accountId: string;
}

export interface ApiKeyStore {
  /** The key is in the result and nowhere else: only its hash is stored. */
  createApiKey(input: {
    accountId: string;
    name: string;
  }): Promise<{ id: string; key: string; prefix: string }>;
  /** The key's id and account, or null when the key is unknown, malformed or revoked. */
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
      await db.update(apiKeys).set({ lastUsedAt: at }).where(inArray(apiKeys.id, keyIds));
    },
  });

  return {
    async createApiKey(input) {
      const secret = generateSecretToken({ prefix: apiKeyPrefix });
      const id = randomUUID();
      await db.insert(apiKeys).values({
        id,
        accountId: input.accountId,
        name: input.name,
        prefix: secret.prefix,
        secretHash: secret.hash,
      });
      return { id, key: secret.token, prefix: secret.prefix };
    },

    async verifyApiKey(key) {
      if (!looksLikeSecretToken(key, { prefix: apiKeyPrefix })) return null;
      const [row] = await db
        .select({ keyId: apiKeys.id, accountId: apiKeys.accountId })
        .from(apiKeys)
        .where(and(eq(apiKeys.secretHash, hashSecretToken(key)), isNull(apiKeys.revokedAt)))
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

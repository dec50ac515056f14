// SPDX-License-Identifier: PolyForm-Shield-1.0
// Registered neurons and their tokens: a neuron proves which operator it earns for with a token stored hashed.

import { randomUUID } from "node:crypto";
import { and, desc, eq, inArray, isNull } from "drizzle-orm";
import { createLastUsedBatcher } from "./last-used-batcher.js";
import type { DrizzleDatabase } from "./open-database.js";
import { accounts, neurons } from "./schema.js";
import { generateSecretToken, hashSecretToken, looksLikeSecretToken } from "./secret-token.js";

export const neuronTokenPrefix = "nt-hx-";

export type NeuronRecord = Omit<typeof neurons.$inferSelect, "tokenHash">;

export interface VerifiedNeuron {
  neuronId: string;
  /** The operator's account: where this neuron's earnings go. */
  accountId: string;
  name: string;
}

export interface NeuronStore {
  /** The token is in the result and nowhere else: only its hash is stored. */
  registerNeuron(input: { accountId: string; name: string }): Promise<{ neuronId: string; token: string }>;
  /** The neuron, or null when the token is unknown, malformed or revoked. */
  verifyNeuronToken(token: string): Promise<VerifiedNeuron | null>;
  revokeNeuron(input: { neuronId: string; accountId?: string }): Promise<boolean>;
  /**
   * Keeps what the neuron said it is (any JSON value) so its operator's page can show it while it is
   * offline. False when there is no such neuron.
   */
  saveCapabilities(input: { neuronId: string; capabilities: unknown }): Promise<boolean>;
  listNeurons(accountId: string): Promise<NeuronRecord[]>;
  flushLastSeen(): Promise<void>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface NeuronStoreOptions {
  db: DrizzleDatabase;
  /** last_seen_at is written in batches at most this often (see the API key store for why). */
  lastSeenFlushIntervalMs?: number;
}

export function createNeuronStore(options: NeuronStoreOptions): NeuronStore {
  const { db } = options;
  const lastSeen = createLastUsedBatcher({
    intervalMs: options.lastSeenFlushIntervalMs ?? 30_000,
    write: async (neuronIds, at) => {
      await db.update(neurons).set({ lastSeenAt: at }).where(inArray(neurons.id, neuronIds));
    },
  });

  return {
    async registerNeuron(input) {
      const secret = generateSecretToken({ prefix: neuronTokenPrefix });
      const neuronId = randomUUID();
      await db.insert(neurons).values({
        id: neuronId,
        accountId: input.accountId,
        name: input.name,
        prefix: secret.prefix,
        tokenHash: secret.hash,
      });
      return { neuronId, token: secret.token };
    },

    async verifyNeuronToken(token) {
      if (!looksLikeSecretToken(token, { prefix: neuronTokenPrefix })) return null;
      const [row] = await db
        .select({ neuronId: neurons.id, accountId: neurons.accountId, name: neurons.name })
        .from(neurons)
        // A suspended operator's neurons stop joining, as their keys stop working.
        .innerJoin(accounts, eq(accounts.id, neurons.accountId))
        .where(
          and(
            eq(neurons.tokenHash, hashSecretToken(token)),
            isNull(neurons.revokedAt),
            isNull(accounts.suspendedAt),
          ),
        )
        .limit(1);
      if (!row) return null;
      lastSeen.touch(row.neuronId);
      return row;
    },

    async revokeNeuron(input) {
      const conditions = [eq(neurons.id, input.neuronId), isNull(neurons.revokedAt)];
      if (input.accountId !== undefined) conditions.push(eq(neurons.accountId, input.accountId));
      const revoked = await db
        .update(neurons)
        .set({ revokedAt: new Date() })
        .where(and(...conditions))
        .returning({ id: neurons.id });
      return revoked.length > 0;
    },

    async saveCapabilities(input) {
      const saved = await db
        .update(neurons)
        .set({ lastCapabilities: input.capabilities ?? null })
        .where(eq(neurons.id, input.neuronId))
        .returning({ id: neurons.id });
      return saved.length > 0;
    },

    async listNeurons(accountId) {
      return db
        .select({
          id: neurons.id,
          accountId: neurons.accountId,
          name: neurons.name,
          prefix: neurons.prefix,
          lastCapabilities: neurons.lastCapabilities,
          createdAt: neurons.createdAt,
          lastSeenAt: neurons.lastSeenAt,
          revokedAt: neurons.revokedAt,
        })
        .from(neurons)
        .where(eq(neurons.accountId, accountId))
        .orderBy(desc(neurons.createdAt));
    },

    flushLastSeen: () => lastSeen.flush(),
    close: () => lastSeen.close(),
    [Symbol.asyncDispose]: () => lastSeen.close(),
  };
}

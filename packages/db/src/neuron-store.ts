// SPDX-License-Identifier: PolyForm-Shield-1.0
// Registered neurons and their tokens: a neuron proves which operator it earns for with a token stored hashed.

import { randomUUID } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { and, count, desc, eq, gte, inArray, isNull } from "drizzle-orm";
import { createLastUsedBatcher } from "./last-used-batcher.js";
import { announceNeuronRevocation } from "./neuron-revocations.js";
import type { DrizzleDatabase } from "./open-database.js";
import { accounts, type NeuronKind, neurons } from "./schema.js";
import { generateSecretToken, hashSecretToken, looksLikeSecretToken } from "./secret-token.js";

export const neuronTokenPrefix = "nt-hx-";

export type NeuronRecord = Omit<typeof neurons.$inferSelect, "tokenHash">;

export interface VerifiedNeuron {
  neuronId: string;
  /** The operator's account: where this neuron's earnings go; null for an anonymous donor's tab. */
  accountId: string | null;
  kind: NeuronKind;
  name: string;
}

export interface NeuronStore {
  /**
   * The token is in the result and nowhere else: only its hash is stored. A null account is an
   * anonymous donor's browser tab (kind "browser" only), made for `createdFromAddress`.
   */
  registerNeuron(input: {
    accountId: string | null;
    name: string;
    kind?: NeuronKind;
    createdFromAddress?: string;
  }): Promise<{ neuronId: string; token: string }>;
  /**
   * Browser neurons made since `since`: an account's, or the anonymous ones made for an address. Their
   * creation is rate-limited on it, across every cortex sharing the database.
   */
  countBrowserNeuronsSince(
    input: { since: Date } & ({ accountId: string } | { anonymousAddress: string }),
  ): Promise<number>;
  /** The neuron, or null when the token is unknown, malformed or revoked. */
  verifyNeuronToken(token: string): Promise<VerifiedNeuron | null>;
  /** True when revoked now; every cortex sharing the database is told on commit (`watchNeuronRevocations`). */
  revokeNeuron(input: { neuronId: string; accountId?: string }): Promise<boolean>;
  /**
   * A new token for the neuron, shown in the result only; the old one stops working and every cortex
   * closes the session it opened. Null when there is no such neuron (of that account) or it is revoked.
   */
  rotateNeuronToken(input: { neuronId: string; accountId?: string }): Promise<{ token: string } | null>;
  /**
   * Of these connected neurons, each with the hash of the token it joined with, the ids no longer
   * admitted: revoked, token rotated, account suspended, or deleted. For re-checking after a missed
   * revocation (the listening connection was down).
   */
  findRevokedNeurons(credentials: Array<{ neuronId: string; tokenHash: string }>): Promise<string[]>;
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
      if (input.accountId === null && input.kind !== "browser") {
        throw new HelexaError("invalid_request", "only a browser neuron may have no operator account");
      }
      const secret = generateSecretToken({ prefix: neuronTokenPrefix });
      const neuronId = randomUUID();
      await db.insert(neurons).values({
        id: neuronId,
        accountId: input.accountId,
        kind: input.kind ?? "native",
        createdFromAddress: input.createdFromAddress ?? null,
        name: input.name,
        prefix: secret.prefix,
        tokenHash: secret.hash,
      });
      return { neuronId, token: secret.token };
    },

    async countBrowserNeuronsSince(input) {
      const [row] = await db
        .select({ count: count() })
        .from(neurons)
        .where(
          and(
            eq(neurons.kind, "browser"),
            gte(neurons.createdAt, input.since),
            "accountId" in input
              ? eq(neurons.accountId, input.accountId)
              : and(isNull(neurons.accountId), eq(neurons.createdFromAddress, input.anonymousAddress)),
          ),
        );
      return Number(row?.count ?? 0);
    },

    async verifyNeuronToken(token) {
      if (!looksLikeSecretToken(token, { prefix: neuronTokenPrefix })) return null;
      const [row] = await db
        .select({
          neuronId: neurons.id,
          accountId: neurons.accountId,
          kind: neurons.kind,
          name: neurons.name,
        })
        .from(neurons)
        // A suspended operator's neurons stop joining, as their keys stop working; an anonymous tab has none.
        .leftJoin(accounts, eq(accounts.id, neurons.accountId))
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

    revokeNeuron(input) {
      const conditions = [eq(neurons.id, input.neuronId), isNull(neurons.revokedAt)];
      if (input.accountId !== undefined) conditions.push(eq(neurons.accountId, input.accountId));
      return db.transaction(async (tx) => {
        const revoked = await tx
          .update(neurons)
          .set({ revokedAt: new Date() })
          .where(and(...conditions))
          .returning({ id: neurons.id });
        if (revoked.length === 0) return false;
        // Every cortex hears it on commit and closes the neuron's session wherever it is connected.
        await announceNeuronRevocation(tx, { reason: "revoked", neuronId: input.neuronId });
        return true;
      });
    },

    rotateNeuronToken(input) {
      const conditions = [eq(neurons.id, input.neuronId), isNull(neurons.revokedAt)];
      if (input.accountId !== undefined) conditions.push(eq(neurons.accountId, input.accountId));
      const secret = generateSecretToken({ prefix: neuronTokenPrefix });
      return db.transaction(async (tx) => {
        const rotated = await tx
          .update(neurons)
          .set({ prefix: secret.prefix, tokenHash: secret.hash })
          .where(and(...conditions))
          .returning({ id: neurons.id });
        if (rotated.length === 0) return null;
        await announceNeuronRevocation(tx, { reason: "token_rotated", neuronId: input.neuronId });
        return { token: secret.token };
      });
    },

    async findRevokedNeurons(credentials) {
      const stillValid = new Set<string>();
      // In chunks: one statement's parameters are limited (65,535), and a cortex may hold many neurons.
      for (let start = 0; start < credentials.length; start += 1000) {
        const chunk = credentials.slice(start, start + 1000);
        const rows = await db
          .select({ neuronId: neurons.id, tokenHash: neurons.tokenHash })
          .from(neurons)
          .leftJoin(accounts, eq(accounts.id, neurons.accountId))
          .where(
            and(
              inArray(
                neurons.id,
                chunk.map((credential) => credential.neuronId),
              ),
              isNull(neurons.revokedAt),
              isNull(accounts.suspendedAt),
            ),
          );
        for (const row of rows) stillValid.add(`${row.neuronId}\n${row.tokenHash}`);
      }
      return [
        ...new Set(
          credentials
            .filter((credential) => !stillValid.has(`${credential.neuronId}\n${credential.tokenHash}`))
            .map((credential) => credential.neuronId),
        ),
      ];
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
          kind: neurons.kind,
          createdFromAddress: neurons.createdFromAddress,
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

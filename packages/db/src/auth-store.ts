// SPDX-License-Identifier: PolyForm-Shield-1.0
// Portal sign-in state: sessions, sign-in attempts for rate limits, one-time email links and GitHub/Google identities.

import { randomBytes } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { and, count, desc, eq, gt, gte, isNull, lt, lte, ne, or, type SQL } from "drizzle-orm";
import {
  type Account,
  chooseFirstAccountRole,
  findAccountByEmail,
  insertAccount,
  normalizeEmail,
} from "./account-store.js";
import { isUniqueViolation } from "./is-unique-violation.js";
import type { DrizzleDatabase, DrizzleTransaction } from "./open-database.js";
import {
  accounts,
  authSessions,
  type EmailTokenPurpose,
  emailTokens,
  oauthIdentities,
  signInAttempts,
} from "./schema.js";
import { hashSecretToken } from "./secret-token.js";

export interface ActiveSession {
  /** The session id as given: what the cookie carries. */
  sessionId: string;
  /** The id's sha256, safe to show: how listSessions names this session. */
  publicId: string;
  account: Account;
  expiresAt: Date;
}

/** A session as an account page lists it: never its id, which signs the browser in. */
export interface SessionSummary {
  publicId: string;
  userAgent: string | null;
  address: string | null;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface OAuthProfile {
  /** "github", "google": any name, compared as given. */
  provider: string;
  providerAccountId: string;
  /** The email the provider verified, or null when it gave none. */
  email: string | null;
  name: string;
}

export interface AuthStore {
  /** The id is returned once and stored only as its sha256. */
  createSession(input: {
    accountId: string;
    userAgent?: string | null;
    address?: string | null;
    ttlMs: number;
  }): Promise<{ id: string; expiresAt: Date }>;
  /** Null when the session is unknown, ended or expired, or its account is suspended. */
  getActiveSession(id: string): Promise<ActiveSession | null>;
  /** True when a session was ended now. */
  endSession(id: string): Promise<boolean>;
  /** Ends an account's session named by its public id (the account page's "sign out there"). */
  endSessionByPublicId(input: { accountId: string; publicId: string }): Promise<boolean>;
  /** Ends every active session of the account but the one given (by the cookie's id); returns how many. */
  endAccountSessions(input: { accountId: string; exceptSessionId?: string }): Promise<number>;
  /** The account's active sessions, most recently seen first. */
  listSessions(accountId: string): Promise<SessionSummary[]>;
  /**
   * Records an attempt and returns its id. A sign-in records its attempt as failed before it checks the
   * password, and marks it succeeded after: concurrent guesses then all count against the limit.
   */
  recordSignInAttempt(input: { email: string; address: string; succeeded: boolean }): Promise<number>;
  markSignInSucceeded(attemptId: number): Promise<void>;
  /**
   * Failed attempts since `since` for the email, the address, or (both given) that pair. Rate limits
   * usually ask twice: once per email, once per address.
   */
  countFailedSignIns(input: { email?: string; address?: string; since: Date }): Promise<number>;
  /** The token is returned once and stored only as its sha256. */
  createEmailToken(input: { accountId: string; purpose: EmailTokenPurpose; ttlMs: number }): Promise<string>;
  /**
   * The token's account, once: a used, expired, unknown or other-purpose token gives null. Using one
   * also voids the account's other unused tokens of that purpose (an older reset link dies with it).
   */
  consumeEmailToken(input: { token: string; purpose: EmailTokenPurpose }): Promise<string | null>;
  /**
   * The account signed in by this identity. A new identity is linked to the account with the same
   * email, or to a new account (the first account of an install is admin). See linkOrCreate for what
   * linking to an account whose email was never verified does.
   */
  findOrCreateOAuthAccount(input: OAuthProfile): Promise<Account>;
  /** Deletes sessions and email tokens that ended, were used or expired before `before`, and older attempts. */
  pruneExpired(input: {
    before: Date;
  }): Promise<{ sessions: number; emailTokens: number; signInAttempts: number }>;
}

export interface AuthStoreOptions {
  db: DrizzleDatabase;
  /** last_seen_at is a hint for people, so a session's reads write it at most this often. */
  lastSeenIntervalMs?: number;
}

export function createAuthStore(options: AuthStoreOptions): AuthStore {
  const { db } = options;
  const lastSeenIntervalMs = options.lastSeenIntervalMs ?? 60_000;

  return {
    async createSession(input) {
      requireTtl(input.ttlMs);
      const id = randomToken();
      const expiresAt = new Date(Date.now() + input.ttlMs);
      await db.insert(authSessions).values({
        id: hashSecretToken(id),
        accountId: input.accountId,
        userAgent: input.userAgent ?? null,
        address: input.address ?? null,
        expiresAt,
      });
      return { id, expiresAt };
    },

    async getActiveSession(id) {
      const publicId = hashSecretToken(id);
      const now = new Date();
      const [row] = await db
        .select({ account: accounts, lastSeenAt: authSessions.lastSeenAt, expiresAt: authSessions.expiresAt })
        .from(authSessions)
        .innerJoin(accounts, eq(accounts.id, authSessions.accountId))
        .where(
          and(
            eq(authSessions.id, publicId),
            isNull(authSessions.endedAt),
            gt(authSessions.expiresAt, now),
            isNull(accounts.suspendedAt),
          ),
        )
        .limit(1);
      if (!row) return null;
      if (now.getTime() - row.lastSeenAt.getTime() >= lastSeenIntervalMs) {
        // The condition repeats the check so that concurrent requests of one session write once.
        await db
          .update(authSessions)
          .set({ lastSeenAt: now })
          .where(
            and(
              eq(authSessions.id, publicId),
              lte(authSessions.lastSeenAt, new Date(now.getTime() - lastSeenIntervalMs)),
            ),
          );
      }
      return { sessionId: id, publicId, account: row.account, expiresAt: row.expiresAt };
    },

    async endSession(id) {
      const ended = await db
        .update(authSessions)
        .set({ endedAt: new Date() })
        .where(and(eq(authSessions.id, hashSecretToken(id)), isNull(authSessions.endedAt)))
        .returning({ id: authSessions.id });
      return ended.length > 0;
    },

    async endSessionByPublicId(input) {
      const ended = await db
        .update(authSessions)
        .set({ endedAt: new Date() })
        .where(
          and(
            eq(authSessions.id, input.publicId),
            eq(authSessions.accountId, input.accountId),
            isNull(authSessions.endedAt),
          ),
        )
        .returning({ id: authSessions.id });
      return ended.length > 0;
    },

    async endAccountSessions(input) {
      const conditions = [
        eq(authSessions.accountId, input.accountId),
        isNull(authSessions.endedAt),
        gt(authSessions.expiresAt, new Date()),
      ];
      if (input.exceptSessionId !== undefined) {
        conditions.push(ne(authSessions.id, hashSecretToken(input.exceptSessionId)));
      }
      const ended = await db
        .update(authSessions)
        .set({ endedAt: new Date() })
        .where(and(...conditions))
        .returning({ id: authSessions.id });
      return ended.length;
    },

    async listSessions(accountId) {
      return db
        .select({
          publicId: authSessions.id,
          userAgent: authSessions.userAgent,
          address: authSessions.address,
          createdAt: authSessions.createdAt,
          lastSeenAt: authSessions.lastSeenAt,
          expiresAt: authSessions.expiresAt,
        })
        .from(authSessions)
        .where(
          and(
            eq(authSessions.accountId, accountId),
            isNull(authSessions.endedAt),
            gt(authSessions.expiresAt, new Date()),
          ),
        )
        .orderBy(desc(authSessions.lastSeenAt), desc(authSessions.createdAt));
    },

    async recordSignInAttempt(input) {
      const [row] = await db
        .insert(signInAttempts)
        .values({ email: normalizeEmail(input.email), address: input.address, succeeded: input.succeeded })
        .returning({ id: signInAttempts.id });
      if (!row) throw new Error("the sign-in attempt was not recorded");
      return row.id;
    },

    async markSignInSucceeded(attemptId) {
      await db.update(signInAttempts).set({ succeeded: true }).where(eq(signInAttempts.id, attemptId));
    },

    async countFailedSignIns(input) {
      const conditions: SQL[] = [
        eq(signInAttempts.succeeded, false),
        gte(signInAttempts.createdAt, input.since),
      ];
      if (input.email !== undefined) conditions.push(eq(signInAttempts.email, normalizeEmail(input.email)));
      if (input.address !== undefined) conditions.push(eq(signInAttempts.address, input.address));
      if (input.email === undefined && input.address === undefined) {
        throw new HelexaError("invalid_request", "count failed sign-ins by email, by address, or by both");
      }
      const [row] = await db
        .select({ count: count() })
        .from(signInAttempts)
        .where(and(...conditions));
      return Number(row?.count ?? 0);
    },

    async createEmailToken(input) {
      requireTtl(input.ttlMs);
      const token = randomToken();
      await db.insert(emailTokens).values({
        tokenHash: hashSecretToken(token),
        accountId: input.accountId,
        purpose: input.purpose,
        expiresAt: new Date(Date.now() + input.ttlMs),
      });
      return token;
    },

    consumeEmailToken(input) {
      return db.transaction(async (tx) => {
        const now = new Date();
        // One statement decides: of two concurrent uses, the second finds used_at set and gets nothing.
        const [used] = await tx
          .update(emailTokens)
          .set({ usedAt: now })
          .where(
            and(
              eq(emailTokens.tokenHash, hashSecretToken(input.token)),
              eq(emailTokens.purpose, input.purpose),
              isNull(emailTokens.usedAt),
              gt(emailTokens.expiresAt, now),
            ),
          )
          .returning({ accountId: emailTokens.accountId });
        if (!used) return null;
        await tx
          .update(emailTokens)
          .set({ usedAt: now })
          .where(
            and(
              eq(emailTokens.accountId, used.accountId),
              eq(emailTokens.purpose, input.purpose),
              isNull(emailTokens.usedAt),
            ),
          );
        return used.accountId;
      });
    },

    async findOrCreateOAuthAccount(input) {
      // Two first sign-ins of one identity race to link it; the loser's insert fails on the unique
      // index and its retry finds the winner's link.
      for (let attempt = 0; ; attempt += 1) {
        try {
          return await db.transaction((tx) => linkOrCreate(tx, input));
        } catch (error) {
          if (attempt >= 2 || !isUniqueViolation(error)) throw error;
        }
      }
    },

    async pruneExpired(input) {
      const sessions = await db
        .delete(authSessions)
        .where(or(lt(authSessions.endedAt, input.before), lt(authSessions.expiresAt, input.before)))
        .returning({ id: authSessions.id });
      const tokens = await db
        .delete(emailTokens)
        .where(or(lt(emailTokens.expiresAt, input.before), lt(emailTokens.usedAt, input.before)))
        .returning({ id: emailTokens.tokenHash });
      const attempts = await db
        .delete(signInAttempts)
        .where(lt(signInAttempts.createdAt, input.before))
        .returning({ id: signInAttempts.id });
      return { sessions: sessions.length, emailTokens: tokens.length, signInAttempts: attempts.length };
    },
  };
}

/**
 * An account that has this email but never verified it was made by whoever typed the address, not
 * necessarily its owner; the provider has just shown who the owner is. So the link also verifies the
 * email and removes that account's password and sessions: someone who registered another person's
 * address ahead of them cannot keep a way in once the owner arrives.
 */
async function linkOrCreate(tx: DrizzleTransaction, input: OAuthProfile): Promise<Account> {
  const [linked] = await tx
    .select({ account: accounts })
    .from(oauthIdentities)
    .innerJoin(accounts, eq(accounts.id, oauthIdentities.accountId))
    .where(
      and(
        eq(oauthIdentities.provider, input.provider),
        eq(oauthIdentities.providerAccountId, input.providerAccountId),
      ),
    )
    .limit(1);
  if (linked) return linked.account;

  let account = input.email ? await findAccountByEmail(tx, input.email) : null;
  if (account && account.emailVerifiedAt === null) {
    const [claimed] = await tx
      .update(accounts)
      .set({ emailVerifiedAt: new Date(), passwordHash: null })
      .where(eq(accounts.id, account.id))
      .returning();
    await tx
      .update(authSessions)
      .set({ endedAt: new Date() })
      .where(and(eq(authSessions.accountId, account.id), isNull(authSessions.endedAt)));
    account = claimed ?? account;
  }
  if (!account) {
    account = await insertAccount(tx, {
      email: input.email,
      name: input.name,
      role: await chooseFirstAccountRole(tx),
      emailVerifiedAt: input.email ? new Date() : null,
    });
  }
  await tx.insert(oauthIdentities).values({
    provider: input.provider,
    providerAccountId: input.providerAccountId,
    accountId: account.id,
  });
  return account;
}

/** 32 random bytes, base64url: 256 bits, safe in a URL and a cookie as it is. */
function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

function requireTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new HelexaError("invalid_request", "ttlMs must be a positive number of milliseconds");
  }
}

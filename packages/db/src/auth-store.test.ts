// SPDX-License-Identifier: PolyForm-Shield-1.0
// Sign-in state: sessions end and expire, tokens work once, attempts are counted, OAuth links safely.

import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { eq, sql } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { createAuthStore } from "./auth-store.js";
import { accounts, authSessions, emailTokens, oauthIdentities } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const uniqueEmail = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`;

describeOnEachBackend("AuthStore", (backend) => {
  // First in the suite: the suite's database is empty only until a test creates an account.
  backend.test(
    "a new OAuth identity makes an account, the install's first as admin, once",
    async ({ db }) => {
      const auth = createAuthStore({ db });
      const profile = {
        provider: "github",
        providerAccountId: "1",
        email: " Linus@Example.com",
        name: "Linus",
      };
      // Racing first sign-ins of one identity end with one account.
      const racing = await Promise.all(
        Array.from({ length: 4 }, () => auth.findOrCreateOAuthAccount(profile)),
      );
      const first = racing[0]!;
      assert.ok(racing.every((account) => account.id === first.id));
      assert.equal(first.role, "admin");
      assert.equal(first.email, "linus@example.com");
      assert.ok(first.emailVerifiedAt instanceof Date);
      assert.equal(first.passwordHash, null);
      assert.equal((await db.select().from(accounts)).length, 1);

      const other = await auth.findOrCreateOAuthAccount({
        provider: "github",
        providerAccountId: "2",
        email: null,
        name: "No Email",
      });
      assert.equal(other.role, "user");
      assert.equal(other.email, null);
      assert.equal(other.emailVerifiedAt, null);
      assert.equal((await auth.findOrCreateOAuthAccount({ ...profile, name: "renamed" })).id, first.id);
      // The same account id at another provider is another identity.
      const google = await auth.findOrCreateOAuthAccount({
        provider: "google",
        providerAccountId: "2",
        email: null,
        name: "G",
      });
      assert.notEqual(google.id, other.id);
    },
  );

  backend.test("an OAuth email links to the account that has it", async ({ db }) => {
    const auth = createAuthStore({ db });
    const store = createAccountStore({ db });
    const verified = await store.createAccount({
      name: "Verified",
      email: uniqueEmail("verified"),
      passwordHash: "$argon2id$kept",
      emailVerifiedAt: new Date(),
    });
    const linked = await auth.findOrCreateOAuthAccount({
      provider: "google",
      providerAccountId: randomUUID(),
      email: verified.email!.toUpperCase(),
      name: "Other Name",
    });
    assert.equal(linked.id, verified.id);
    assert.equal(linked.passwordHash, "$argon2id$kept");
    assert.equal(linked.name, "Verified");

    // Someone registered this address without proving it; the provider has proven who owns it.
    const squatted = await store.createAccount({
      name: "Squatter",
      email: uniqueEmail("squatted"),
      passwordHash: "$argon2id$squatter",
    });
    const squatterSession = await auth.createSession({ accountId: squatted.id, ttlMs: 60_000 });
    const claimed = await auth.findOrCreateOAuthAccount({
      provider: "github",
      providerAccountId: randomUUID(),
      email: squatted.email!,
      name: "Owner",
    });
    assert.equal(claimed.id, squatted.id);
    assert.equal(claimed.passwordHash, null);
    assert.ok(claimed.emailVerifiedAt instanceof Date);
    assert.equal(await auth.getActiveSession(squatterSession.id), null);
    const identities = await db
      .select()
      .from(oauthIdentities)
      .where(eq(oauthIdentities.accountId, squatted.id));
    assert.equal(identities.length, 1);
  });

  backend.test("a session works until it ends, expires or its account is suspended", async ({ db }) => {
    const auth = createAuthStore({ db });
    const store = createAccountStore({ db });
    const account = await store.createAccount({ name: "Ada", email: uniqueEmail("ada") });
    const session = await auth.createSession({
      accountId: account.id,
      userAgent: "Firefox",
      address: "192.0.2.1",
      ttlMs: 60_000,
    });
    assert.match(session.id, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(session.expiresAt.getTime() > Date.now() + 59_000);
    // Only the id's hash is stored.
    const [row] = await db.select().from(authSessions).where(eq(authSessions.accountId, account.id));
    assert.equal(row?.id, sha256(session.id));

    const active = await auth.getActiveSession(session.id);
    assert.equal(active?.account.id, account.id);
    assert.equal(active?.sessionId, session.id);
    assert.equal(active?.publicId, sha256(session.id));
    assert.equal(await auth.getActiveSession(`${session.id}x`), null);
    assert.equal(await auth.getActiveSession(sha256(session.id)), null, "the stored hash does not sign in");

    await store.setSuspended({ accountId: account.id, suspended: true });
    assert.equal(await auth.getActiveSession(session.id), null);
    await store.setSuspended({ accountId: account.id, suspended: false });

    const again = await auth.createSession({ accountId: account.id, ttlMs: 60_000 });
    assert.ok(await auth.getActiveSession(again.id));
    assert.equal(await auth.endSession(again.id), true);
    assert.equal(await auth.endSession(again.id), false);
    assert.equal(await auth.getActiveSession(again.id), null);

    const brief = await auth.createSession({ accountId: account.id, ttlMs: 1 });
    await sleep(5);
    assert.equal(await auth.getActiveSession(brief.id), null);
    await assert.rejects(auth.createSession({ accountId: account.id, ttlMs: 0 }), {
      code: "invalid_request",
    });
  });

  backend.test("sessions are listed, ended elsewhere, and ended all but this one", async ({ db }) => {
    const auth = createAuthStore({ db });
    const store = createAccountStore({ db });
    const account = await store.createAccount({ name: "Many" });
    const stranger = await store.createAccount({ name: "Stranger" });
    const [current, laptop, phone] = await Promise.all(
      ["current", "laptop", "phone"].map((userAgent) =>
        auth.createSession({ accountId: account.id, userAgent, ttlMs: 60_000 }),
      ),
    );
    await auth.createSession({ accountId: account.id, ttlMs: 1 });
    await sleep(5);
    const listed = await auth.listSessions(account.id);
    assert.deepEqual(listed.map((session) => session.userAgent).sort(), ["current", "laptop", "phone"]);
    assert.ok(listed.every((session) => !Object.values(session).includes(current!.id)));

    const laptopPublicId = listed.find((session) => session.userAgent === "laptop")!.publicId;
    assert.equal(
      await auth.endSessionByPublicId({ accountId: stranger.id, publicId: laptopPublicId }),
      false,
    );
    assert.equal(await auth.endSessionByPublicId({ accountId: account.id, publicId: laptopPublicId }), true);
    assert.equal(await auth.getActiveSession(laptop!.id), null);

    assert.equal(await auth.endAccountSessions({ accountId: account.id, exceptSessionId: current!.id }), 1);
    assert.equal(await auth.getActiveSession(phone!.id), null);
    assert.ok(await auth.getActiveSession(current!.id));
    assert.equal(await auth.endAccountSessions({ accountId: account.id }), 1);
    assert.deepEqual(await auth.listSessions(account.id), []);
  });

  backend.test("last seen is written at most once per interval", async ({ db }) => {
    const auth = createAuthStore({ db, lastSeenIntervalMs: 60_000 });
    const account = await createAccountStore({ db }).createAccount({ name: "Seen" });
    const session = await auth.createSession({ accountId: account.id, ttlMs: 600_000 });
    const setLastSeen = (secondsAgo: number) =>
      db
        .update(authSessions)
        .set({ lastSeenAt: sql`now() - make_interval(secs => ${secondsAgo})` })
        .where(eq(authSessions.id, sha256(session.id)));
    const readLastSeen = async () =>
      (
        await db
          .select()
          .from(authSessions)
          .where(eq(authSessions.id, sha256(session.id)))
      )[0]!.lastSeenAt;

    await setLastSeen(30);
    const thirtySecondsAgo = await readLastSeen();
    await auth.getActiveSession(session.id);
    assert.equal((await readLastSeen()).getTime(), thirtySecondsAgo.getTime());

    await setLastSeen(120);
    const before = Date.now();
    await auth.getActiveSession(session.id);
    assert.ok((await readLastSeen()).getTime() >= before - 1_000);
  });

  backend.test(
    "failed sign-ins are counted by email, by address and by both, in a window",
    async ({ db }) => {
      const auth = createAuthStore({ db });
      const email = uniqueEmail("target");
      const address = `198.51.100.${Math.floor(Math.random() * 200)}-${randomUUID()}`;
      const start = new Date(Date.now() - 1_000);
      await auth.recordSignInAttempt({ email: email.toUpperCase(), address, succeeded: false });
      await auth.recordSignInAttempt({ email, address: "203.0.113.9", succeeded: false });
      await auth.recordSignInAttempt({ email: uniqueEmail("other"), address, succeeded: false });
      await auth.recordSignInAttempt({ email, address, succeeded: true });

      assert.equal(await auth.countFailedSignIns({ email: ` ${email} `, since: start }), 2);
      assert.equal(await auth.countFailedSignIns({ address, since: start }), 2);
      assert.equal(await auth.countFailedSignIns({ email, address, since: start }), 1);
      assert.equal(await auth.countFailedSignIns({ email, since: new Date(Date.now() + 60_000) }), 0);
      await assert.rejects(auth.countFailedSignIns({ since: start }), { code: "invalid_request" });
    },
  );

  backend.test("an email token works once, for its purpose, before it expires", async ({ db }) => {
    const auth = createAuthStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "Token" });
    const token = await auth.createEmailToken({
      accountId: account.id,
      purpose: "reset_password",
      ttlMs: 60_000,
    });
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    const stored = await db.select().from(emailTokens).where(eq(emailTokens.accountId, account.id));
    assert.deepEqual(
      stored.map((row) => row.tokenHash),
      [sha256(token)],
    );

    assert.equal(await auth.consumeEmailToken({ token, purpose: "verify_email" }), null);
    // Two uses at once: one wins.
    const uses = await Promise.all([
      auth.consumeEmailToken({ token, purpose: "reset_password" }),
      auth.consumeEmailToken({ token, purpose: "reset_password" }),
    ]);
    assert.deepEqual(uses.sort(), [account.id, null].sort());
    assert.equal(await auth.consumeEmailToken({ token, purpose: "reset_password" }), null);
    assert.equal(await auth.consumeEmailToken({ token: "not-a-token", purpose: "reset_password" }), null);

    const expired = await auth.createEmailToken({ accountId: account.id, purpose: "verify_email", ttlMs: 1 });
    await sleep(5);
    assert.equal(await auth.consumeEmailToken({ token: expired, purpose: "verify_email" }), null);
  });

  backend.test("using a token voids the account's other tokens of that purpose only", async ({ db }) => {
    const auth = createAuthStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "Links" });
    const create = (purpose: "verify_email" | "reset_password") =>
      auth.createEmailToken({ accountId: account.id, purpose, ttlMs: 60_000 });
    const olderReset = await create("reset_password");
    const newerReset = await create("reset_password");
    const verify = await create("verify_email");
    assert.equal(await auth.consumeEmailToken({ token: newerReset, purpose: "reset_password" }), account.id);
    assert.equal(await auth.consumeEmailToken({ token: olderReset, purpose: "reset_password" }), null);
    assert.equal(await auth.consumeEmailToken({ token: verify, purpose: "verify_email" }), account.id);
  });

  backend.test("pruning removes what ended or expired and keeps what is live", async ({ db }) => {
    const auth = createAuthStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "Prune" });
    const live = await auth.createSession({ accountId: account.id, ttlMs: 600_000 });
    const ended = await auth.createSession({ accountId: account.id, ttlMs: 600_000 });
    await auth.endSession(ended.id);
    const liveToken = await auth.createEmailToken({
      accountId: account.id,
      purpose: "verify_email",
      ttlMs: 600_000,
    });
    await auth.createEmailToken({ accountId: account.id, purpose: "reset_password", ttlMs: 1 });
    await sleep(5);
    const pruned = await auth.pruneExpired({ before: new Date() });
    assert.ok(pruned.sessions >= 1 && pruned.emailTokens >= 1, JSON.stringify(pruned));
    const sessions = await db.select().from(authSessions).where(eq(authSessions.accountId, account.id));
    assert.deepEqual(
      sessions.map((row) => row.id),
      [sha256(live.id)],
    );
    assert.equal(await auth.consumeEmailToken({ token: liveToken, purpose: "verify_email" }), account.id);
  });
});

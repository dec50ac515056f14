// SPDX-License-Identifier: PolyForm-Shield-1.0
// Sign-up, email verification, password change and reset: who becomes admin, and which sessions end when.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TRPCClientError } from "@trpc/client";
import type { AppRouter } from "./root.js";
import {
  createPortalFixture,
  defaultPassword,
  type PortalFixture,
  serveOverHttp,
} from "./testing/portal-fixture.js";

// One install for the sign-up and password suites, in this order: the first sign-up finds it empty.
let fixture: PortalFixture;
before(async () => {
  fixture = await createPortalFixture();
});
after(() => fixture.close());

describe("account.signUp", () => {
  it("makes the first account of an empty install its admin, and the next ones users", async () => {
    const anonymous = await fixture.caller(null);
    const first = await anonymous.account.signUp({
      email: "Ada@Example.com",
      name: "Ada",
      password: defaultPassword,
    });
    const second = await anonymous.account.signUp({
      email: "bo@example.com",
      name: "Bo",
      password: defaultPassword,
    });
    assert.equal(first.role, "admin");
    assert.equal(second.role, "user");
    const stored = await fixture.services.accounts.getAccount(first.accountId);
    assert.equal(stored?.role, "admin");
    assert.equal(stored?.email, "ada@example.com", "stored trimmed and lower-cased");
    assert.equal(stored?.emailVerifiedAt, null);
    assert.ok(
      stored?.passwordHash && (await fixture.services.passwords.verify(stored.passwordHash, defaultPassword)),
    );
    assert.equal((await fixture.services.accounts.getAccount(second.accountId))?.role, "user");
  });

  it("makes a sign-up admin whenever no admin exists, whatever other accounts there are", async () => {
    // The store's rule is "no admin yet", not "no account yet": `helexa up` makes a service account for
    // its key and neuron before anyone signs up, and the first person to sign up must still become admin.
    const anonymous = await fixture.caller(null);
    const ada = await fixture.services.accounts.findAccountByEmail("ada@example.com");
    await fixture.services.accounts.setRole({ accountId: ada!.id, role: "user" });
    await fixture.services.accounts.createAccount({ name: "helexa up service account" });
    try {
      const next = await anonymous.account.signUp({
        email: "next@example.com",
        name: "Next",
        password: defaultPassword,
      });
      const after = await anonymous.account.signUp({
        email: "after@example.com",
        name: "After",
        password: defaultPassword,
      });
      assert.equal(next.role, "admin");
      assert.equal(after.role, "user");
    } finally {
      await fixture.services.accounts.setRole({ accountId: ada!.id, role: "admin" });
    }
  });

  it("refuses an email that has an account already, in any case, with CONFLICT", async () => {
    const anonymous = await fixture.caller(null);
    const before = await fixture.services.accounts.countAccounts();
    await assert.rejects(
      anonymous.account.signUp({ email: "ADA@example.com", name: "Impostor", password: "another password" }),
      { name: "TRPCError", code: "CONFLICT" },
    );
    assert.equal(await fixture.services.accounts.countAccounts(), before);
    const ada = await fixture.services.accounts.findAccountByEmail("ada@example.com");
    assert.equal(ada?.name, "Ada");
  });

  it("answers CONFLICT, not an internal error, to concurrent sign-ups with one email", async () => {
    const anonymous = await fixture.caller(null);
    const results = await Promise.allSettled(
      [1, 2, 3].map((index) =>
        anonymous.account.signUp({
          email: "twice@example.com",
          name: `Twice ${index}`,
          password: defaultPassword,
        }),
      ),
    );
    assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
    for (const result of results) {
      if (result.status === "rejected") assert.equal((result.reason as { code?: string }).code, "CONFLICT");
    }
    const sent = fixture.mail.filter((mail) => mail.email === "twice@example.com");
    assert.equal(sent.length, 1, "one account, one verification mail");
  });

  it("sends a verification link that verifies the email once", async () => {
    const anonymous = await fixture.caller(null);
    const { accountId } = await anonymous.account.signUp({
      email: "cy@example.com",
      name: "Cy",
      password: defaultPassword,
    });
    const sent = fixture.mail.filter((mail) => mail.accountId === accountId);
    assert.deepEqual(
      sent.map((mail) => [mail.kind, mail.email]),
      [["verification", "cy@example.com"]],
    );
    assert.deepEqual(await anonymous.account.verifyEmail({ token: sent[0]!.token }), { verified: true });
    assert.notEqual((await fixture.services.accounts.getAccount(accountId))?.emailVerifiedAt, null);
    await assert.rejects(anonymous.account.verifyEmail({ token: sent[0]!.token }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
  });

  it("answers bad input with BAD_REQUEST and each field's message, over HTTP", async () => {
    const http = await serveOverHttp(fixture);
    try {
      const before = await fixture.services.accounts.countAccounts();
      const error = await http.client.account.signUp
        .mutate({ email: "not an email", name: "   ", password: "short" })
        .then(
          () => assert.fail("the sign-up was accepted"),
          (caught: unknown) => caught,
        );
      assert.ok(error instanceof TRPCClientError);
      const typed = error as TRPCClientError<AppRouter>;
      assert.equal(typed.data?.code, "BAD_REQUEST");
      assert.equal(typed.data?.httpStatus, 400);
      const fieldErrors: Record<string, string[] | undefined> = typed.data?.fieldErrors ?? {};
      assert.deepEqual(Object.keys(fieldErrors).sort(), ["email", "name", "password"]);
      assert.deepEqual(fieldErrors.password, ["use at least 10 characters"]);
      assert.deepEqual(fieldErrors.name, ["enter a name"]);
      assert.equal(await fixture.services.accounts.countAccounts(), before, "nothing was created");

      // A store's typed error reaches the client with its helexa code, and no field errors.
      const conflict = await http.client.account.signUp
        .mutate({ email: "ada@example.com", name: "Ada again", password: defaultPassword })
        .then(
          () => assert.fail("the duplicate sign-up was accepted"),
          (caught: unknown) => caught as TRPCClientError<AppRouter>,
        );
      assert.equal(conflict.data?.code, "CONFLICT");
      assert.equal(conflict.data?.fieldErrors, null);
    } finally {
      await http.close();
    }
  });
});

describe("account passwords and sessions", () => {
  it("changePassword ends the account's other sessions at once and keeps the current one", async () => {
    const { account, sessionId: current } = await fixture.signUp({ email: "dee@example.com" });
    const otherA = await fixture.openSession(account.id);
    const otherB = await fixture.openSession(account.id);
    const stranger = await fixture.signUp({ email: "eve@example.com" });
    const asDee = await fixture.caller(current);

    await assert.rejects(
      asDee.account.changePassword({
        currentPassword: "not my password",
        newPassword: "a brand new password",
      }),
      { name: "TRPCError", code: "BAD_REQUEST" },
    );
    assert.ok(await fixture.services.auth.getActiveSession(otherA), "a wrong current password ends nothing");

    const result = await asDee.account.changePassword({
      currentPassword: defaultPassword,
      newPassword: "a brand new password",
    });
    assert.deepEqual(result, { otherSessionsEnded: 2 });
    assert.equal(await fixture.services.auth.getActiveSession(otherA), null);
    assert.equal(await fixture.services.auth.getActiveSession(otherB), null);
    assert.equal((await fixture.services.auth.getActiveSession(current))?.account.id, account.id);
    assert.ok(
      await fixture.services.auth.getActiveSession(stranger.sessionId),
      "other accounts are untouched",
    );

    const hash = (await fixture.services.accounts.getAccount(account.id))?.passwordHash ?? "";
    assert.equal(await fixture.services.passwords.verify(hash, "a brand new password"), true);
    assert.equal(await fixture.services.passwords.verify(hash, defaultPassword), false);
    // The session that changed it goes on working.
    assert.equal((await (await fixture.caller(current)).account.me())?.id, account.id);
  });

  it("resetPassword through the mailed link ends every session, and the link works once", async () => {
    const { account, sessionId } = await fixture.signUp({ email: "fay@example.com" });
    const another = await fixture.openSession(account.id);
    const anonymous = await fixture.caller(null);

    assert.deepEqual(await anonymous.account.requestPasswordReset({ email: "FAY@example.com" }), {
      sent: true,
    });
    const resets = fixture.mail.filter(
      (mail) => mail.accountId === account.id && mail.kind === "password-reset",
    );
    assert.equal(resets.length, 1);
    const { token } = resets[0]!;

    assert.deepEqual(await anonymous.account.resetPassword({ token, password: "reset to this one" }), {
      reset: true,
    });
    assert.equal(await fixture.services.auth.getActiveSession(sessionId), null);
    assert.equal(await fixture.services.auth.getActiveSession(another), null);
    const stored = await fixture.services.accounts.getAccount(account.id);
    assert.equal(
      await fixture.services.passwords.verify(stored?.passwordHash ?? "", "reset to this one"),
      true,
    );
    assert.notEqual(stored?.emailVerifiedAt, null, "the link came by mail, so the email is verified");

    const later = await fixture.openSession(account.id);
    await assert.rejects(anonymous.account.resetPassword({ token, password: "and again, twice" }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
    const unchanged = await fixture.services.accounts.getAccount(account.id);
    assert.equal(unchanged?.passwordHash, stored?.passwordHash, "a used link changes nothing");
    assert.ok(await fixture.services.auth.getActiveSession(later), "a used link ends nothing");
  });

  it("a verification token does not reset a password", async () => {
    const { account } = await fixture.signUp({ email: "gus@example.com" });
    const verification = fixture.mail.find(
      (mail) => mail.accountId === account.id && mail.kind === "verification",
    );
    assert.ok(verification);
    await assert.rejects(
      (await fixture.caller(null)).account.resetPassword({
        token: verification.token,
        password: "hijacked password",
      }),
      { name: "TRPCError", code: "BAD_REQUEST" },
    );
    const stored = await fixture.services.accounts.getAccount(account.id);
    assert.equal(await fixture.services.passwords.verify(stored?.passwordHash ?? "", defaultPassword), true);
  });

  it("requestPasswordReset answers the same for an unknown email and sends nothing", async () => {
    const before = fixture.mail.length;
    assert.deepEqual(
      await (await fixture.caller(null)).account.requestPasswordReset({ email: "nobody@example.com" }),
      { sent: true },
    );
    assert.equal(fixture.mail.length, before);
  });

  it("lists the account's sessions, marks the current one, and ends another by its public id", async () => {
    const { account, sessionId } = await fixture.signUp({ email: "hal@example.com" });
    const other = await fixture.openSession(account.id);
    const asHal = await fixture.caller(sessionId);
    const sessions = await asHal.account.sessions();
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((session) => session.current).length, 1);
    for (const session of sessions) {
      assert.ok(!JSON.stringify(session).includes(sessionId), "the list never shows a cookie's id");
      assert.ok(!JSON.stringify(session).includes(other), "the list never shows a cookie's id");
    }
    const notCurrent = sessions.find((session) => !session.current)!;
    assert.deepEqual(await asHal.account.endSession({ publicId: notCurrent.publicId }), { ended: true });
    assert.equal(await fixture.services.auth.getActiveSession(other), null);
    assert.ok(await fixture.services.auth.getActiveSession(sessionId));
    assert.equal((await asHal.account.sessions()).length, 1);
  });
});

describe("unexpected failures", () => {
  it("reach the browser as a plain message, never the database's own words", async () => {
    const http = await serveOverHttp(fixture);
    const { catalog } = fixture.services;
    const listModels = catalog.listModels;
    // A database failure as the driver would throw it.
    catalog.listModels = async () => {
      throw new Error('relation "models" does not exist');
    };
    try {
      const error = await http.client.chat.models.query().then(
        () => assert.fail("the query succeeded"),
        (caught: unknown) => caught as TRPCClientError<AppRouter>,
      );
      assert.equal(error.data?.code, "INTERNAL_SERVER_ERROR");
      assert.doesNotMatch(error.message, /relation|models/);
      assert.match(error.message, /went wrong on our side/);
    } finally {
      catalog.listModels = listModels;
      await http.close();
    }
  });
});

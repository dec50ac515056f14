// SPDX-License-Identifier: PolyForm-Shield-1.0
// Account mail through a real SMTP server, and through the log when none is set: the link's token works once.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Account, createAccountStore, createAuthStore } from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import { createLogger, type Logger } from "@helexa/log";
import { createAccountMail } from "./account-mail.js";
import { createMailer } from "./mailer.js";
import { type SmtpInbox, startSmtpInbox } from "./testing/smtp-inbox.js";

const portalUrl = "http://portal.test:8091";

function tokenIn(text: string, path: string): string {
  const match = new RegExp(`${portalUrl.replaceAll(".", "\\.")}${path}\\?token=([A-Za-z0-9_-]+)`).exec(text);
  assert.ok(match, `no ${path} link in:\n${text}`);
  return match[1]!;
}

function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: "debug",
    stream: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { log, lines };
}

describe("account mail", () => {
  let database: TestDatabase;
  let account: Account;
  let smtp: SmtpInbox;
  const auth = () => createAuthStore({ db: database.db });

  before(async () => {
    database = await createPgliteTestDatabase();
    account = await createAccountStore({ db: database.db }).createAccount({
      email: "ada@example.com",
      name: "Ada",
    });
    smtp = await startSmtpInbox();
  });
  after(async () => {
    await smtp[Symbol.asyncDispose]();
    await database.close();
  });

  it("sends the verification link over SMTP; its token verifies the account once", async () => {
    const { log, lines } = capturingLogger();
    const mailer = createMailer({
      smtpUrl: smtp.url,
      from: "helexa <portal@helexa.test>",
      log,
    });
    try {
      await createAccountMail({ auth: auth(), mailer, portalUrl, log }).sendVerification(account);
    } finally {
      mailer.close();
    }
    assert.equal(smtp.received.length, 1);
    const [mail] = smtp.received;
    assert.equal(mail?.from, "portal@helexa.test");
    assert.deepEqual(mail?.to, ["ada@example.com"]);
    assert.match(mail?.raw ?? "", /^Subject: Verify your helexa email$/m);
    const token = tokenIn(mail!.text, "/verify-email");

    assert.equal(await auth().consumeEmailToken({ token, purpose: "reset_password" }), null, "wrong purpose");
    assert.equal(await auth().consumeEmailToken({ token, purpose: "verify_email" }), account.id);
    assert.equal(await auth().consumeEmailToken({ token, purpose: "verify_email" }), null, "used once");
    assert.ok(lines.some((line) => line.event === "mail.sent" && line.to === "ada@example.com"));
    assert.ok(!lines.some((line) => JSON.stringify(line).includes(token)), "a sent link is not logged");
  });

  it("sends the password-reset link over SMTP; its token resets once", async () => {
    const { log } = capturingLogger();
    const mailer = createMailer({
      smtpUrl: smtp.url,
      from: "portal@helexa.test",
      log,
    });
    const before = smtp.received.length;
    try {
      await createAccountMail({ auth: auth(), mailer, portalUrl, log }).sendPasswordReset(account);
    } finally {
      mailer.close();
    }
    const mail = smtp.received[before];
    assert.ok(mail);
    assert.match(mail.raw, /^Subject: Reset your helexa password$/m);
    const token = tokenIn(mail.text, "/reset-password");
    assert.equal(await auth().consumeEmailToken({ token, purpose: "reset_password" }), account.id);
    assert.equal(await auth().consumeEmailToken({ token, purpose: "reset_password" }), null);
  });

  it("without an SMTP URL writes the mail, link included, to the log; the token still works", async () => {
    const { log, lines } = capturingLogger();
    const mailer = createMailer({ from: "portal@helexa.test", log });
    const before = smtp.received.length;
    await createAccountMail({ auth: auth(), mailer, portalUrl, log }).sendVerification(account);
    mailer.close();
    assert.equal(smtp.received.length, before, "nothing went over SMTP");
    const logged = lines.find((line) => line.event === "mail.not_sent_no_smtp");
    assert.ok(logged, JSON.stringify(lines));
    assert.equal(logged.to, "ada@example.com");
    const token = tokenIn(String(logged.text), "/verify-email");
    assert.equal(await auth().consumeEmailToken({ token, purpose: "verify_email" }), account.id);
  });

  it("does not throw when the SMTP server cannot be reached, and logs the failure", async () => {
    const { log, lines } = capturingLogger();
    // A port nothing listens on: the server's own, once closed.
    const closed = await startSmtpInbox();
    await closed[Symbol.asyncDispose]();
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${closed.port}`,
      from: "portal@helexa.test",
      log,
    });
    try {
      await createAccountMail({ auth: auth(), mailer, portalUrl, log }).sendPasswordReset(account);
    } finally {
      mailer.close();
    }
    const failure = lines.find((line) => line.event === "mail.send_failed");
    assert.equal(failure?.purpose, "reset_password");
    assert.equal(failure?.accountId, account.id);
  });

  it("sends nothing to an account without an email", async () => {
    const { log, lines } = capturingLogger();
    const noEmail = await createAccountStore({ db: database.db }).createAccount({ name: "service" });
    const mailer = createMailer({ from: "portal@helexa.test", log });
    await createAccountMail({ auth: auth(), mailer, portalUrl, log }).sendVerification(noEmail);
    assert.deepEqual(lines, []);
  });
});

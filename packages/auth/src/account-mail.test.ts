// SPDX-License-Identifier: PolyForm-Shield-1.0
// Account mail through a real SMTP server, and through the log when none is set: the link's token works once.

import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { type Account, createAccountStore, createAuthStore } from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import { createLogger, type Logger } from "@helexa/log";
import { SMTPServer } from "smtp-server";
import { createAccountMail } from "./account-mail.js";
import { createMailer } from "./mailer.js";

const portalUrl = "http://portal.test:8091";

interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A local SMTP server that keeps what it receives. */
async function startSmtpServer(): Promise<{ server: SMTPServer; port: number; received: ReceivedMail[] }> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, port: (server.server.address() as AddressInfo).port, received };
}

/** The body of a single-part text mail, quoted-printable decoded when it says so. */
function bodyOf(raw: string): string {
  const split = raw.indexOf("\r\n\r\n");
  const headers = raw.slice(0, split);
  const body = raw.slice(split + 4);
  if (!/content-transfer-encoding:\s*quoted-printable/i.test(headers)) return body;
  return Buffer.from(
    body
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    "latin1",
  ).toString("utf8");
}

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
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const auth = () => createAuthStore({ db: database.db });

  before(async () => {
    database = await createPgliteTestDatabase();
    account = await createAccountStore({ db: database.db }).createAccount({
      email: "ada@example.com",
      name: "Ada",
    });
    smtp = await startSmtpServer();
  });
  after(async () => {
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
    await database.close();
  });

  it("sends the verification link over SMTP; its token verifies the account once", async () => {
    const { log, lines } = capturingLogger();
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
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
    const token = tokenIn(bodyOf(mail!.raw), "/verify-email");

    assert.equal(await auth().consumeEmailToken({ token, purpose: "reset_password" }), null, "wrong purpose");
    assert.equal(await auth().consumeEmailToken({ token, purpose: "verify_email" }), account.id);
    assert.equal(await auth().consumeEmailToken({ token, purpose: "verify_email" }), null, "used once");
    assert.ok(lines.some((line) => line.event === "mail.sent" && line.to === "ada@example.com"));
    assert.ok(!lines.some((line) => JSON.stringify(line).includes(token)), "a sent link is not logged");
  });

  it("sends the password-reset link over SMTP; its token resets once", async () => {
    const { log } = capturingLogger();
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
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
    const token = tokenIn(bodyOf(mail.raw), "/reset-password");
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
    const closed = await startSmtpServer();
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
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

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The mail an account gets: a link to verify its email, a link to reset its password.

import type { Account, AuthStore } from "@helexa/db";
import type { Logger } from "@helexa/log";
import type { Mailer } from "./mailer.js";

export interface AccountMail {
  sendVerification(account: Account): Promise<void>;
  sendPasswordReset(account: Account): Promise<void>;
}

const verificationTtlMs = 48 * 3_600_000;
const resetTtlMs = 3_600_000;

export function createAccountMail(options: {
  auth: AuthStore;
  mailer: Mailer;
  portalUrl: string;
  log: Logger;
}): AccountMail {
  const { auth, mailer, portalUrl, log } = options;
  const send = async (
    account: Account,
    build: (token: string) => { subject: string; text: string },
    purpose: "verify_email" | "reset_password",
    ttlMs: number,
  ) => {
    if (!account.email) return;
    const token = await auth.createEmailToken({ accountId: account.id, purpose, ttlMs });
    try {
      await mailer.send({ to: account.email, ...build(token) });
    } catch (error) {
      // The account exists either way; a person can ask for the mail again.
      log.error("mail.send_failed", { purpose, accountId: account.id, error: (error as Error).message });
    }
  };
  return {
    sendVerification: (account) =>
      send(
        account,
        (token) => ({
          subject: "Verify your helexa email",
          text: `Hello ${account.name},\n\nOpen this link to verify your email address:\n${portalUrl}/verify-email?token=${token}\n\nIt works for 48 hours. If you did not sign up for helexa, ignore this mail.\n`,
        }),
        "verify_email",
        verificationTtlMs,
      ),
    sendPasswordReset: (account) =>
      send(
        account,
        (token) => ({
          subject: "Reset your helexa password",
          text: `Hello ${account.name},\n\nOpen this link to choose a new password:\n${portalUrl}/reset-password?token=${token}\n\nIt works for one hour, once. If you did not ask for this, ignore this mail: your password stays as it is.\n`,
        }),
        "reset_password",
        resetTtlMs,
      ),
  };
}

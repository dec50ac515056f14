// SPDX-License-Identifier: PolyForm-Shield-1.0
// Outgoing mail: through SMTP when a URL is configured, otherwise written to the log so links still reach someone.

import type { Logger } from "@helexa/log";
import { createTransport } from "nodemailer";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export function createMailer(options: { smtpUrl?: string; from: string; log: Logger }): Mailer {
  const { log } = options;
  if (!options.smtpUrl) {
    return {
      async send(mail) {
        log.info("mail.not_sent_no_smtp", { to: mail.to, subject: mail.subject, text: mail.text });
      },
      close() {},
    };
  }
  const transport = createTransport(options.smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text });
      log.info("mail.sent", { to: mail.to, subject: mail.subject });
    },
    close: () => transport.close(),
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Test doubles for what the auth package talks to: a local SMTP server.

export { type ReceivedMail, type SmtpInbox, startSmtpInbox } from "./smtp-inbox.js";

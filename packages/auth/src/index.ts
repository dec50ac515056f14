// SPDX-License-Identifier: PolyForm-Shield-1.0
// Who is signing in: passwords, Auth.js sessions that can be ended at once, and account mail.

export { type AccountMail, createAccountMail } from "./account-mail.js";
export { createMailer, type Mail, type Mailer } from "./mailer.js";
export { createPasswordHasher, type PasswordHasher } from "./password-hasher.js";
export {
  clientAddress,
  createPortalAuth,
  defaultSignInLimits,
  type PortalAuth,
  type PortalAuthOptions,
  type PortalSession,
  type SignInLimits,
  SignInRefusedError,
} from "./portal-auth.js";

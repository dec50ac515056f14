// SPDX-License-Identifier: PolyForm-Shield-1.0
// A tRPC call's context: cortex's services and the caller's session, when there is one.

import type { Account } from "@helexa/db";
import type { PortalServices } from "./services.js";

export interface PortalSession {
  /** What the cookie carries; never shown. */
  sessionId: string;
  /** The session's public name, as the account page lists it. */
  publicId: string;
  account: Account;
}

export interface PortalContext {
  services: PortalServices;
  session: PortalSession | null;
  /** The caller's address, for rate limits and the session list. */
  address: string;
  userAgent: string | null;
}

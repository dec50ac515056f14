// SPDX-License-Identifier: PolyForm-Shield-1.0
// Wires the portal's services: the stores over the database, auth, mail, payments and the live fabric.

import {
  type AccountMail as ApiAccountMail,
  createDevPaymentProvider,
  createStripePaymentProvider,
  defaultCreditPacks,
  type Fabric,
  type PortalServices,
} from "@helexa/api";
import {
  createAccountMail,
  createMailer,
  createPasswordHasher,
  createPortalAuth,
  type PortalAuth,
} from "@helexa/auth";
import {
  createAccountStore,
  createApiKeyStore,
  createAuthStore,
  createConversationStore,
  createModelCatalog,
  createNeuronStore,
  createPortalQueries,
  createPurchaseStore,
  type Database,
  type Ledger,
} from "@helexa/db";
import type { Logger } from "@helexa/log";

export interface PortalSettings {
  /** Signs the session cookies; at least 32 characters, the same on every cortex serving the portal. */
  authSecret: string;
  /** The portal's public origin, e.g. http://127.0.0.1:8091. */
  publicUrl: string;
  smtpUrl?: string;
  mailFrom: string;
  github?: { clientId: string; clientSecret: string };
  google?: { clientId: string; clientSecret: string };
  stripe?: { secretKey: string; webhookSecret?: string };
}

export function createPortalServices(options: {
  database: Database;
  ledger: Ledger;
  fabric: Fabric | null;
  settings: PortalSettings;
  urls: { orchestrator: string | null; gateway: string | null };
  log: Logger;
}): { services: PortalServices; auth: PortalAuth; close(): Promise<void> } {
  const { db } = options.database;
  const { settings, log } = options;
  const accounts = createAccountStore({ db });
  const auth = createAuthStore({ db });
  const apiKeys = createApiKeyStore({ db });
  const neurons = createNeuronStore({ db });
  const passwords = createPasswordHasher();
  const mailer = createMailer({
    ...(settings.smtpUrl ? { smtpUrl: settings.smtpUrl } : {}),
    from: settings.mailFrom,
    log: log.child({ role: "mail" }),
  });
  const mail: ApiAccountMail = createAccountMail({ auth, mailer, portalUrl: settings.publicUrl, log });
  const portalAuth = createPortalAuth({
    accounts,
    auth,
    passwords,
    secret: settings.authSecret,
    portalUrl: settings.publicUrl,
    ...(settings.github ? { github: settings.github } : {}),
    ...(settings.google ? { google: settings.google } : {}),
    log: log.child({ role: "auth" }),
  });
  const services: PortalServices = {
    accounts,
    auth,
    apiKeys,
    neurons,
    catalog: createModelCatalog({ db }),
    conversations: createConversationStore({ db }),
    purchases: createPurchaseStore({ db, ledger: options.ledger }),
    queries: createPortalQueries({ db }),
    ledger: options.ledger,
    passwords,
    mail,
    fabric: options.fabric,
    payments: settings.stripe
      ? createStripePaymentProvider({ secretKey: settings.stripe.secretKey })
      : createDevPaymentProvider({ portalUrl: settings.publicUrl }),
    creditPacks: defaultCreditPacks,
    oauthProviders: portalAuth.oauthProviders,
    urls: { ...options.urls, portal: settings.publicUrl },
  };
  return {
    services,
    auth: portalAuth,
    async close() {
      mailer.close();
      await apiKeys.close();
      await neurons.close();
    },
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa cortex`: the control plane, serving the roles whose sockets it is given.

import { join } from "node:path";
import { type Config, ConfigError } from "@helexa/config";
import { type Cortex, createDatabaseCortexStore, type PortalRoleOptions, startCortex } from "@helexa/cortex";
import { type Database, type Ledger, openDatabase } from "@helexa/db";
import type { Logger } from "@helexa/log";
import { buildPortal, isPortalBuilt, loadPortalPages } from "@helexa/portal/server";
import { prepareCommand, socketOf } from "../context.js";
import { createProgressBar } from "../progress-bar.js";
import { onShutdownSignal } from "../shutdown.js";

const summary = `Runs cortex, helexa's control plane. It serves each role whose socket it is given:
the orchestrator (neurons dial it), the OpenAI-compatible gateway, and the portal.`;

/** Prices given to a model that a neuron serves and the catalog lacks, in micro-credits per million tokens. */
export const newModelPrices = { promptPerMillion: 50_000, completionPerMillion: 100_000 };

export async function runCortexCommand(argv: string[]): Promise<void> {
  const context = prepareCommand({ command: "cortex", argv, summary });
  if (!context) return;
  const { cortex, database } = await startCortexFromConfig(context.config, context.log);
  process.stdout.write(
    [
      cortex.orchestratorUrl
        ? `orchestrator  ${cortex.orchestratorUrl}  (neurons: helexa neuron --cortex ${cortex.orchestratorUrl})`
        : null,
      cortex.gatewayUrl ? `gateway       ${cortex.gatewayUrl}/v1` : null,
      cortex.portalUrl ? `portal        ${cortex.portalUrl}` : null,
      "",
    ]
      .filter((line) => line !== null)
      .join("\n"),
  );
  onShutdownSignal(async () => {
    await cortex.close();
    await database?.close();
  });
}

export async function startCortexFromConfig(
  config: Config,
  log: Logger,
  options: {
    database?: Database;
    /** `up` keeps its own secret in the credentials file; `helexa cortex` takes it from config. */
    portalAuthSecret?: string;
    /** `up` builds the portal's pages when they are missing; `helexa cortex` serves the API alone then. */
    buildPortalIfMissing?: boolean;
    /** Where browser tabs' model files are kept, when not `cortex.modelsDir` (`up` shares its neuron's). */
    modelsDir?: string;
  } = {},
): Promise<{ cortex: Cortex; database: Database | null }> {
  const orchestratorSocket = socketOf(config.cortex.orchestratorSocket);
  const gatewaySocket = socketOf(config.cortex.gatewaySocket);
  const portalSocket = socketOf(config.cortex.portalSocket);
  const needsDatabase = Boolean(orchestratorSocket || gatewaySocket || portalSocket);
  const portalAuthSecret = options.portalAuthSecret ?? config.portal.authSecret;
  if (portalSocket && !portalAuthSecret) {
    throw new ConfigError(
      "invalid config: portal.authSecret is required to serve the portal (set HELEXA_PORTAL_AUTH_SECRET or AUTH_SECRET to 32+ random characters, e.g. `openssl rand -base64 32`)",
      { key: "portal.authSecret", source: "default" },
    );
  }
  const database =
    options.database ??
    (needsDatabase
      ? await openDatabase(
          config.database.url ? { url: config.database.url } : { dataDir: join(config.home, "db") },
        )
      : null);
  try {
    const store = database
      ? createDatabaseCortexStore({
          database,
          operatorShare: config.ledger.operatorShare,
          newModelPrices,
          log,
        })
      : null;
    const portal =
      portalSocket && database && store && portalAuthSecret
        ? await portalRole({
            config,
            database,
            ledger: store.ledger,
            authSecret: portalAuthSecret,
            build: options.buildPortalIfMissing ?? false,
            modelsDir: options.modelsDir ?? config.cortex.modelsDir,
            log,
          })
        : undefined;
    const cortex = await startCortex({
      ...(portal ? { portal } : {}),
      ...(orchestratorSocket ? { orchestratorSocket } : {}),
      ...(gatewaySocket ? { gatewaySocket } : {}),
      ...(portalSocket ? { portalSocket } : {}),
      store,
      queue: { limit: config.cortex.queueLimit, timeoutSeconds: config.cortex.queueTimeoutSeconds },
      iceServers: config.ice.servers,
      ...(config.ice.bindAddress ? { iceBindAddress: config.ice.bindAddress } : {}),
      ...(config.ice.portRangeBegin !== undefined && config.ice.portRangeEnd !== undefined
        ? { icePortRange: { begin: config.ice.portRangeBegin, end: config.ice.portRangeEnd } }
        : {}),
      log,
    });
    return { cortex, database };
  } catch (error) {
    if (!options.database) await database?.close();
    throw error;
  }
}

async function portalRole(options: {
  config: Config;
  database: Database;
  ledger: Ledger;
  authSecret: string;
  build: boolean;
  modelsDir: string;
  log: Logger;
}): Promise<PortalRoleOptions> {
  const { portal, cortex } = options.config;
  if (!isPortalBuilt() && options.build) {
    const bar = createProgressBar({ label: "build portal" });
    try {
      await buildPortal({ onProgress: (progress) => bar.update({ fraction: progress.fraction }) });
      bar.done();
    } catch (error) {
      bar.fail("failed");
      throw error;
    }
  }
  const pages = isPortalBuilt() ? await loadPortalPages() : null;
  if (!pages) {
    options.log.warn("cortex.portal_pages_not_built", {
      message: "serving the portal's API only; build its pages with `npm run build -w @helexa/portal`",
    });
  }
  return {
    database: options.database,
    ledger: options.ledger,
    pages,
    modelsDir: options.modelsDir,
    settings: {
      authSecret: options.authSecret,
      ...(cortex.publicUrl ? { publicUrl: cortex.publicUrl.replace(/\/$/, "") } : {}),
      ...(portal.smtpUrl ? { smtpUrl: portal.smtpUrl } : {}),
      mailFrom: portal.mailFrom,
      ...(portal.githubClientId && portal.githubClientSecret
        ? { github: { clientId: portal.githubClientId, clientSecret: portal.githubClientSecret } }
        : {}),
      ...(portal.googleClientId && portal.googleClientSecret
        ? { google: { clientId: portal.googleClientId, clientSecret: portal.googleClientSecret } }
        : {}),
      ...(portal.stripeSecretKey
        ? {
            stripe: {
              secretKey: portal.stripeSecretKey,
              ...(portal.stripeWebhookSecret ? { webhookSecret: portal.stripeWebhookSecret } : {}),
            },
          }
        : {}),
    },
  };
}

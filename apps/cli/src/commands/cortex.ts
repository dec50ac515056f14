// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa cortex`: the control plane, serving the roles whose sockets it is given.

import { join } from "node:path";
import type { Config } from "@helexa/config";
import { type Cortex, createDatabaseCortexStore, startCortex } from "@helexa/cortex";
import { type Database, openDatabase } from "@helexa/db";
import type { Logger } from "@helexa/log";
import { prepareCommand, socketOf } from "../context.js";
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
  options: { database?: Database } = {},
): Promise<{ cortex: Cortex; database: Database | null }> {
  const orchestratorSocket = socketOf(config.cortex.orchestratorSocket);
  const gatewaySocket = socketOf(config.cortex.gatewaySocket);
  const portalSocket = socketOf(config.cortex.portalSocket);
  const needsDatabase = Boolean(orchestratorSocket || gatewaySocket);
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
    const cortex = await startCortex({
      ...(orchestratorSocket ? { orchestratorSocket } : {}),
      ...(gatewaySocket ? { gatewaySocket } : {}),
      ...(portalSocket ? { portalSocket } : {}),
      store,
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

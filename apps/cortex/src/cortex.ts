// SPDX-License-Identifier: PolyForm-Shield-1.0
// A cortex node: the roles whose socket it is given (orchestrator, gateway, portal) over one registry and database.

import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { SocketAddress } from "@helexa/config";
import { createModelCatalog, type Database, type Ledger } from "@helexa/db";
import type { Logger } from "@helexa/log";
import { createOpenAIHandler } from "@helexa/openai-http";
import type { IceServer } from "@helexa/protocol";
import { createGatewayBackend, type GatewayStore } from "./gateway/gateway-backend.js";
import { registerFabricMetrics } from "./metrics/fabric-metrics.js";
import { createGatewayMetrics, type GatewayMetrics } from "./metrics/gateway-metrics.js";
import { createMetricsRegistry } from "./metrics/metrics-registry.js";
import { createProvisioningMetrics } from "./metrics/provisioning-metrics.js";
import { JobQueue } from "./orchestrator/job-queue.js";
import { NeuronRegistry } from "./orchestrator/neuron-registry.js";
import type { NeuronSession } from "./orchestrator/neuron-session.js";
import { type NeuronIdentity, OrchestratorServer } from "./orchestrator/orchestrator-server.js";
import { type CatalogModelSource, Provisioner } from "./orchestrator/provisioner.js";
import { ProvisioningJobQueue } from "./orchestrator/provisioning-job-queue.js";
import { followNeuronRevocations, type NeuronRevocationSource } from "./orchestrator/revocation-follower.js";
import { createFabric } from "./portal/fabric.js";
import { createModelFilesHandler } from "./portal/model-files.js";
import { createPortalRequestListener, type NextRequestHandler } from "./portal/portal-server.js";
import { createPortalServices, type PortalSettings } from "./portal/portal-services.js";

/** What cortex needs from the database; `createDatabaseCortexStore` gives it over @helexa/db. */
export interface CortexStore extends GatewayStore {
  verifyNeuronToken(token: string): Promise<NeuronIdentity | null>;
  /** Called when a neuron says what it serves: the catalog may learn of its models. */
  onNeuronModels(session: NeuronSession): Promise<void>;
  /** Releases the holds of jobs a previous run of this cortex left unsettled. */
  recoverUnsettledJobs(): Promise<{ jobs: number; holds: number }>;
  /** Settlements and other writes still buffered, flushed before the database closes. */
  flush(): Promise<void>;
  /** Micro-credits by ledger account kind, for `GET /metrics`; read at each scrape. */
  ledgerTotals?(): Promise<Record<string, number>>;
  /**
   * Revocations made through any cortex sharing the database; without it a revoked neuron leaves at once
   * only when it is connected to the cortex that revoked it.
   */
  neuronRevocations?: NeuronRevocationSource;
  /** Where a catalog model comes from, so a neuron can be asked to load it; without it nothing is provisioned. */
  modelSource?(modelId: string): Promise<CatalogModelSource | null>;
}

export interface CortexOptions {
  orchestratorSocket?: SocketAddress;
  gatewaySocket?: SocketAddress;
  portalSocket?: SocketAddress;
  store: CortexStore | null;
  iceServers?: IceServer[];
  iceBindAddress?: string;
  icePortRange?: { begin: number; end: number };
  heartbeatIntervalMs?: number;
  /** Jobs waiting for a free neuron: how many at most, and for how long (defaults 512 and 30 s). */
  queue?: { limit: number; timeoutSeconds: number };
  /** What the portal role needs besides its socket. */
  portal?: PortalRoleOptions;
  log: Logger;
}

export interface PortalRoleOptions {
  database: Database;
  /** The ledger the gateway settles through, shared so both batch into one queue. */
  ledger: Ledger;
  /** The public origin; without one, the address the portal socket listens on. */
  settings: Omit<PortalSettings, "publicUrl"> & { publicUrl?: string };
  /** Next.js's handler for the pages; null serves the API alone and says the pages are not built. */
  pages: NextRequestHandler | null;
  /**
   * Where the catalog's model files are kept for browser tabs (`GET /models/<id>/file`), fetched from their
   * source on first request; without it that route is not served.
   */
  modelsDir?: string;
}

export interface Cortex {
  readonly orchestratorUrl: string | null;
  readonly gatewayUrl: string | null;
  readonly portalUrl: string | null;
  readonly registry: NeuronRegistry;
  /** What the gateway reports to `GET /metrics` on the orchestrator socket. */
  readonly metrics: GatewayMetrics;
  close(): Promise<void>;
}

export class CortexConfigurationError extends Error {
  override readonly name = "CortexConfigurationError";
}

export async function startCortex(options: CortexOptions): Promise<Cortex> {
  const { log, store } = options;
  if (!options.orchestratorSocket && !options.gatewaySocket && !options.portalSocket) {
    throw new CortexConfigurationError(
      "cortex needs at least one role: give --orchestrator-socket, --gateway-socket or --portal-socket (e.g. --orchestrator-socket 0.0.0.0:8040 --gateway-socket 0.0.0.0:8080)",
    );
  }
  if (!store && (options.orchestratorSocket || options.gatewaySocket)) {
    throw new CortexConfigurationError("the orchestrator and gateway roles need a database");
  }
  const registry = new NeuronRegistry();
  const metricsRegistry = createMetricsRegistry({
    onCollectError: (metric, error) => log.warn("metrics.collect_failed", { metric, error: String(error) }),
  });
  const metrics = createGatewayMetrics(metricsRegistry);
  const ledgerTotals = store?.ledgerTotals?.bind(store);
  registerFabricMetrics(metricsRegistry, {
    neurons: () =>
      registry.list().map((session) => ({ runtime: session.capabilities?.runtime.kind ?? "unknown" })),
    ...(ledgerTotals ? { ledgerTotals } : {}),
  });
  const servers: Server[] = [];
  let orchestrator: OrchestratorServer | null = null;
  let revocations: { close(): Promise<void> } | null = null;
  let orchestratorUrl: string | null = null;
  let gatewayUrl: string | null = null;
  let portalUrl: string | null = null;
  let closePortal: (() => Promise<void>) | null = null;
  // The gateway's path (hold, placement, metering) serves API keys and the portal's chat alike.
  // Catalog models nobody serves are loaded on a neuron that takes models when a request names them.
  const modelSource = store?.modelSource?.bind(store);
  const provisioner = modelSource
    ? new Provisioner({
        registry,
        catalog: modelSource,
        log: log.child({ role: "orchestrator" }),
        metrics: createProvisioningMetrics(metricsRegistry),
      })
    : null;
  const queueOptions = {
    registry,
    maxWaiting: options.queue?.limit ?? 512,
    timeoutMs: (options.queue?.timeoutSeconds ?? 30) * 1000,
    recheckMs: 250,
  };
  const queue = provisioner
    ? new ProvisioningJobQueue({ ...queueOptions, provisioner })
    : new JobQueue(queueOptions);
  metrics.setQueueDepthSource(() => queue.depth);
  const backend = createGatewayBackend({
    registry,
    queue,
    ...(provisioner ? { provisioner } : {}),
    store,
    metrics,
    log: log.child({ role: "gateway" }),
  });

  try {
    if (options.orchestratorSocket && store) {
      orchestrator = new OrchestratorServer({
        registry,
        authenticateNeuron: (token) => store.verifyNeuronToken(token),
        onCapabilities: (session) => store.onNeuronModels(session),
        ...(provisioner
          ? { onModelMessage: (session, message) => provisioner.onModelMessage(session, message) }
          : {}),
        iceServers: options.iceServers ?? [],
        ...(options.iceBindAddress ? { iceBindAddress: options.iceBindAddress } : {}),
        ...(options.icePortRange ? { icePortRange: options.icePortRange } : {}),
        ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
        metrics: metricsRegistry,
        log: log.child({ role: "orchestrator" }),
      });
      // Listening before the first neuron can join: no revocation falls between its token check and this.
      revocations = store.neuronRevocations
        ? await followNeuronRevocations({
            orchestrator,
            source: store.neuronRevocations,
            log: log.child({ role: "orchestrator" }),
          })
        : null;
      orchestratorUrl = await listen(orchestrator.server, options.orchestratorSocket, "ws");
      log.info("cortex.orchestrator_listening", { url: orchestratorUrl });
    }

    if (options.gatewaySocket) {
      if (store) {
        const recovered = await store.recoverUnsettledJobs();
        if (recovered.jobs > 0 || recovered.holds > 0) log.warn("ledger.recovered_unsettled_jobs", recovered);
      }
      if (!orchestrator) {
        log.warn("cortex.gateway_without_orchestrator", {
          message:
            "this gateway has no orchestrator in its process; until cross-node routing lands it answers 503",
        });
      }
      const gatewayLog = log.child({ role: "gateway" });
      const server = createServer(
        createOpenAIHandler({
          backend,
          onError: (error, requestId) =>
            gatewayLog.error("gateway.error", { requestId, error: String(error) }),
        }),
      );
      server.keepAliveTimeout = 65_000;
      servers.push(server);
      gatewayUrl = await listen(server, options.gatewaySocket, "http");
      log.info("cortex.gateway_listening", { url: gatewayUrl });
    }

    if (options.portalSocket) {
      if (!options.portal)
        throw new CortexConfigurationError("the portal role needs a database and its settings");
      const portal = options.portal;
      const server = createServer();
      server.keepAliveTimeout = 65_000;
      servers.push(server);
      portalUrl = await listen(server, options.portalSocket, "http");
      const wired = createPortalServices({
        database: portal.database,
        ledger: portal.ledger,
        fabric: orchestrator ? createFabric({ registry, backend, orchestrator }) : null,
        settings: { ...portal.settings, publicUrl: portal.settings.publicUrl ?? portalUrl },
        urls: { orchestrator: orchestratorUrl, gateway: gatewayUrl },
        log: log.child({ role: "portal" }),
      });
      closePortal = wired.close;
      server.on(
        "request",
        createPortalRequestListener({
          services: wired.services,
          auth: wired.auth,
          pages: portal.pages,
          ...(portal.settings.stripe?.webhookSecret
            ? { stripeWebhookSecret: portal.settings.stripe.webhookSecret }
            : {}),
          ...(portal.modelsDir
            ? {
                modelFiles: createModelFilesHandler({
                  catalog: createModelCatalog({ db: portal.database.db }),
                  modelsDir: portal.modelsDir,
                  log: log.child({ role: "portal" }),
                }),
              }
            : {}),
          log: log.child({ role: "portal" }),
        }),
      );
      log.info("cortex.portal_listening", { url: portalUrl, pages: portal.pages !== null });
    }
  } catch (error) {
    queue.close();
    provisioner?.close();
    await revocations?.close();
    await orchestrator?.close();
    await Promise.all(servers.map(closeServer));
    await closePortal?.();
    throw error;
  }

  return {
    orchestratorUrl,
    gatewayUrl,
    portalUrl,
    registry,
    metrics,
    async close() {
      // Close the gateway first so no new job starts (jobs still waiting for a neuron are answered 503),
      // then the neurons, then flush what the ledger holds.
      queue.close();
      provisioner?.close();
      await Promise.all(servers.map(closeServer));
      await revocations?.close();
      await orchestrator?.close();
      await backend.pendingSettlements();
      await closePortal?.();
      await store?.flush();
    },
  };
}

/**
 * Connections the kernel holds for cortex while its thread is busy. Node's default (511) overflowed in
 * bench/gateway-load, resetting clients that arrived in a burst; the kernel caps it at somaxconn.
 */
const listenBacklog = 4096;

async function listen(server: Server, address: SocketAddress, scheme: "http" | "ws"): Promise<string> {
  server.listen({ port: address.port, host: address.host, backlog: listenBacklog });
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([error]) => {
      throw new CortexConfigurationError(
        `cannot listen on ${address.host}:${address.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }),
  ]);
  const bound = server.address() as AddressInfo;
  const host = bound.address === "0.0.0.0" || bound.address === "::" ? "127.0.0.1" : bound.address;
  return `${scheme}://${host.includes(":") ? `[${host}]` : host}:${bound.port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeIdleConnections();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Streams still open after a grace period are cut so shutdown cannot hang on a slow client.
    setTimeout(() => {
      server.closeAllConnections();
    }, 5000).unref();
  });
}

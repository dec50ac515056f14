// SPDX-License-Identifier: PolyForm-Shield-1.0
// cortex: the control plane — orchestrator, OpenAI-compatible gateway, metering and ledger.

export type { PortalRoleOptions } from "./cortex.js";
export {
  type Cortex,
  CortexConfigurationError,
  type CortexOptions,
  type CortexStore,
  startCortex,
} from "./cortex.js";
export {
  createDatabaseCortexStore,
  type DatabaseCortexStore,
  type DatabaseCortexStoreOptions,
} from "./database-store.js";
export type { Caller, GatewayStore, Settlement } from "./gateway/gateway-backend.js";
export { costOf, type ModelPrice, worstCaseCost } from "./gateway/pricing.js";
export { ensureLocalFabric, type LocalCredentials, type LocalFabricOptions } from "./local-fabric.js";
export type { FabricMetricsSources } from "./metrics/fabric-metrics.js";
export {
  createGatewayMetrics,
  type GatewayMetrics,
  type GatewayMetricsOptions,
  type GatewayRequestStatus,
  type GatewayRoute,
} from "./metrics/gateway-metrics.js";
export {
  createMetricsRegistry,
  type MetricsRegistry,
  prometheusContentType,
} from "./metrics/metrics-registry.js";
export { JobQueue, type JobQueueOptions, type Lease } from "./orchestrator/job-queue.js";
export { NeuronRegistry, type RegistryEvent } from "./orchestrator/neuron-registry.js";
export type { NeuronSession } from "./orchestrator/neuron-session.js";
export { closeCodes, type NeuronIdentity } from "./orchestrator/orchestrator-server.js";
export { Placement, type PlacementOptions, placementScore } from "./orchestrator/placement.js";
export { type JobRecord, NeuronStats } from "./orchestrator/placement-stats.js";
export {
  type CatalogModelSource,
  Provisioner,
  type ProvisionerOptions,
  type ProvisioningPlan,
} from "./orchestrator/provisioner.js";
export { ProvisioningJobQueue } from "./orchestrator/provisioning-job-queue.js";
export type { NextRequestHandler } from "./portal/portal-server.js";
export type { PortalSettings } from "./portal/portal-services.js";

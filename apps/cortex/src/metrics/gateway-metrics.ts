// SPDX-License-Identifier: PolyForm-Shield-1.0
// What the gateway backend reports about requests: counts, tokens, latencies, queueing and failovers.

import type { MetricsRegistry } from "./metrics-registry.js";

export type GatewayRoute = "chat" | "completions" | "portal";
export type GatewayRequestStatus = "completed" | "failed" | "cancelled" | "rejected";

export interface GatewayMetrics {
  requestStarted(input: { model: string; route: GatewayRoute }): void;
  /** `code` is the HelexaError code of a failed or rejected request. */
  requestFinished(input: { model: string; status: GatewayRequestStatus; code?: string }): void;
  /** From the request's arrival to its first token reaching the client. */
  firstToken(input: { model: string; seconds: number }): void;
  /** Between two tokens of one stream (per delta when a delta carries several). */
  interToken(input: { model: string; seconds: number }): void;
  tokens(input: { model: string; prompt: number; completion: number }): void;
  /** How long a request waited in the queue before a neuron took it. */
  queueWait(input: { model: string; seconds: number }): void;
  /** A job moved to another neuron after the first failed it. */
  failover(input: { model: string }): void;
  /** The queue's depth, read at each scrape; 0 until a source is given. */
  setQueueDepthSource(source: () => number): void;
}

export interface GatewayMetricsOptions {
  /**
   * Distinct model labels kept before the rest are reported as "other": the model name comes from
   * the client's request body, and every new label value is a new series held in memory forever.
   */
  maxModels?: number;
}

/** The label given to models past `maxModels`. */
export const overflowModelLabel = "other";

const timeToFirstTokenBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
const interTokenBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];
const queueWaitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createGatewayMetrics(
  registry: MetricsRegistry,
  options: GatewayMetricsOptions = {},
): GatewayMetrics {
  const maxModels = options.maxModels ?? 100;
  const models = new Set<string>();
  const modelLabel = (model: string) => {
    if (models.has(model)) return model;
    if (models.size >= maxModels) return overflowModelLabel;
    models.add(model);
    return model;
  };

  const started = registry.counter({
    name: "helexa_requests_started_total",
    help: "Requests that reached the gateway backend, by model and route.",
    labelNames: ["model", "route"],
  });
  const finished = registry.counter({
    name: "helexa_requests_total",
    help: "Requests finished, by model and outcome.",
    labelNames: ["model", "status"],
  });
  const errors = registry.counter({
    name: "helexa_request_errors_total",
    help: "Failed or rejected requests, by model and error code.",
    labelNames: ["model", "code"],
  });
  const timeToFirstToken = registry.histogram({
    name: "helexa_time_to_first_token_seconds",
    help: "Seconds from a request's arrival to its first token.",
    buckets: timeToFirstTokenBuckets,
    labelNames: ["model"],
  });
  const interTokenLatency = registry.histogram({
    name: "helexa_inter_token_latency_seconds",
    help: "Seconds between consecutive tokens of a stream.",
    buckets: interTokenBuckets,
    labelNames: ["model"],
  });
  const tokens = registry.counter({
    name: "helexa_tokens_total",
    help: "Tokens metered, by model and kind (prompt or completion).",
    labelNames: ["model", "kind"],
  });
  const queueWait = registry.histogram({
    name: "helexa_queue_wait_seconds",
    help: "Seconds a request waited in the queue for a neuron.",
    buckets: queueWaitBuckets,
    labelNames: ["model"],
  });
  const failovers = registry.counter({
    name: "helexa_failovers_total",
    help: "Jobs moved to another neuron after the first one failed them.",
    labelNames: ["model"],
  });
  let queueDepthSource: () => number = () => 0;
  registry.collectedGauge({
    name: "helexa_queue_depth",
    help: "Requests waiting in the queue for a neuron.",
    collect: () => queueDepthSource(),
  });

  return {
    requestStarted({ model, route }) {
      started.inc({ model: modelLabel(model), route });
    },
    requestFinished({ model, status, code }) {
      const label = modelLabel(model);
      finished.inc({ model: label, status });
      if (code !== undefined) errors.inc({ model: label, code });
    },
    firstToken({ model, seconds }) {
      timeToFirstToken.observe({ model: modelLabel(model) }, seconds);
    },
    interToken({ model, seconds }) {
      interTokenLatency.observe({ model: modelLabel(model) }, seconds);
    },
    tokens({ model, prompt, completion }) {
      const label = modelLabel(model);
      tokens.inc({ model: label, kind: "prompt" }, prompt);
      tokens.inc({ model: label, kind: "completion" }, completion);
    },
    queueWait({ model, seconds }) {
      queueWait.observe({ model: modelLabel(model) }, seconds);
    },
    failover({ model }) {
      failovers.inc({ model: modelLabel(model) });
    },
    setQueueDepthSource(source) {
      queueDepthSource = source;
    },
  };
}

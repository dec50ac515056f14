// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the gateway's metrics: the series each call feeds, and the cap on model labels.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText, sampleValue } from "../testing/parse-prometheus-text.js";
import { createGatewayMetrics, overflowModelLabel } from "./gateway-metrics.js";
import { createMetricsRegistry } from "./metrics-registry.js";

describe("createGatewayMetrics", () => {
  it("feeds requests, errors, tokens, latencies, queueing and failovers", async () => {
    const registry = createMetricsRegistry();
    const metrics = createGatewayMetrics(registry);
    metrics.requestStarted({ model: "m", route: "completions" });
    metrics.requestStarted({ model: "m", route: "completions" });
    metrics.requestFinished({ model: "m", status: "completed" });
    metrics.requestFinished({ model: "m", status: "rejected", code: "insufficient_quota" });
    metrics.tokens({ model: "m", prompt: 10, completion: 5 });
    metrics.tokens({ model: "m", prompt: 1, completion: 2 });
    metrics.firstToken({ model: "m", seconds: 0.3 });
    metrics.interToken({ model: "m", seconds: 0.004 });
    metrics.interToken({ model: "m", seconds: 0.0001 });
    metrics.queueWait({ model: "m", seconds: 1.5 });
    metrics.failover({ model: "m" });
    let depth = 4;
    metrics.setQueueDepthSource(() => depth);

    const families = parsePrometheusText(await registry.render());
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(families, name, labels);
    assert.equal(value("helexa_requests_started_total", { model: "m", route: "completions" }), 2);
    assert.equal(value("helexa_requests_total", { model: "m", status: "completed" }), 1);
    assert.equal(value("helexa_requests_total", { model: "m", status: "rejected" }), 1);
    assert.equal(value("helexa_request_errors_total", { model: "m", code: "insufficient_quota" }), 1);
    assert.equal(value("helexa_tokens_total", { model: "m", kind: "prompt" }), 11);
    assert.equal(value("helexa_tokens_total", { model: "m", kind: "completion" }), 7);
    assert.equal(value("helexa_time_to_first_token_seconds_bucket", { model: "m", le: "0.25" }), 0);
    assert.equal(value("helexa_time_to_first_token_seconds_bucket", { model: "m", le: "0.5" }), 1);
    assert.equal(value("helexa_inter_token_latency_seconds_bucket", { model: "m", le: "0.0005" }), 1);
    assert.equal(value("helexa_inter_token_latency_seconds_bucket", { model: "m", le: "0.005" }), 2);
    assert.equal(value("helexa_inter_token_latency_seconds_count", { model: "m" }), 2);
    assert.equal(value("helexa_queue_wait_seconds_bucket", { model: "m", le: "2.5" }), 1);
    assert.equal(value("helexa_failovers_total", { model: "m" }), 1);
    assert.equal(value("helexa_queue_depth"), 4);
    depth = 0;
    assert.equal(sampleValue(parsePrometheusText(await registry.render()), "helexa_queue_depth"), 0);
  });

  it("reports models past the cap as one label, so request bodies cannot grow memory", async () => {
    const registry = createMetricsRegistry();
    const metrics = createGatewayMetrics(registry, { maxModels: 2 });
    for (const model of ["a", "b", "c", "d", "a"]) metrics.requestFinished({ model, status: "completed" });
    const families = parsePrometheusText(await registry.render());
    const models = families.get("helexa_requests_total")!.samples.map((sample) => sample.labels.model);
    assert.deepEqual(models.sort(), ["a", "b", overflowModelLabel]);
    assert.equal(sampleValue(families, "helexa_requests_total", { model: "a" }), 2);
    assert.equal(sampleValue(families, "helexa_requests_total", { model: overflowModelLabel }), 2);
  });
});

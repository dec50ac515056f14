// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the fabric's gauges: neurons by runtime read at each scrape, and the ledger's totals.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText, sampleValue } from "../testing/parse-prometheus-text.js";
import { registerFabricMetrics } from "./fabric-metrics.js";
import { collectErrorsMetricName, createMetricsRegistry } from "./metrics-registry.js";

describe("registerFabricMetrics", () => {
  it("counts neurons by runtime at each scrape, keeping a runtime seen at 0 once it is gone", async () => {
    const registry = createMetricsRegistry();
    let neurons = [{ runtime: "llama-cpp" }, { runtime: "llama-cpp" }, { runtime: "openai-upstream" }];
    registerFabricMetrics(registry, { neurons: () => neurons });
    let families = parsePrometheusText(await registry.render());
    assert.equal(sampleValue(families, "helexa_neurons_online", { runtime: "llama-cpp" }), 2);
    assert.equal(sampleValue(families, "helexa_neurons_online", { runtime: "openai-upstream" }), 1);
    // Without a ledger source (no database) the ledger gauge is not there at all.
    assert.equal(families.has("helexa_ledger_balance_microcredits"), false);

    neurons = [{ runtime: "llama-cpp" }];
    families = parsePrometheusText(await registry.render());
    assert.equal(sampleValue(families, "helexa_neurons_online", { runtime: "llama-cpp" }), 1);
    assert.equal(sampleValue(families, "helexa_neurons_online", { runtime: "openai-upstream" }), 0);
  });

  it("reports ledger totals by kind, and leaves them out when the database fails", async () => {
    const registry = createMetricsRegistry();
    let failing = false;
    registerFabricMetrics(registry, {
      neurons: () => [],
      ledgerTotals: async () => {
        if (failing) throw new Error("connection refused");
        return { customer_credit: 9, operator_earnings: 1, platform_revenue: 0, funding: -10 };
      },
    });
    let families = parsePrometheusText(await registry.render());
    assert.equal(sampleValue(families, "helexa_ledger_balance_microcredits", { kind: "funding" }), -10);
    assert.equal(families.get("helexa_neurons_online")?.samples.length, 0);

    failing = true;
    families = parsePrometheusText(await registry.render());
    assert.equal(families.has("helexa_ledger_balance_microcredits"), false);
    assert.equal(
      sampleValue(families, collectErrorsMetricName, { metric: "helexa_ledger_balance_microcredits" }),
      1,
    );
    assert.ok(families.has("helexa_neurons_online"));
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// GET /metrics on a real orchestrator over a throwaway PGlite database, scraped over HTTP.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createAccountStore } from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import { createLogger } from "@helexa/log";
import { type Cortex, startCortex } from "../cortex.js";
import { createDatabaseCortexStore } from "../database-store.js";
import { parsePrometheusText, sampleValue } from "../testing/parse-prometheus-text.js";
import { collectErrorsMetricName, prometheusContentType } from "./metrics-registry.js";

describe("GET /metrics on the orchestrator socket", () => {
  const log = createLogger({ level: "silent" });
  let database: TestDatabase;
  let cortex: Cortex;
  const granted = 5_000_000;

  before(async () => {
    database = await createPgliteTestDatabase();
    const store = createDatabaseCortexStore({ database, operatorShare: 0.7, newModelPrices: null, log });
    const customer = await createAccountStore({ db: database.db }).createAccount({ name: "customer" });
    await store.ledger.grantCredits({
      accountId: customer.id,
      amount: granted,
      idempotencyKey: randomUUID(),
    });
    cortex = await startCortex({ orchestratorSocket: { host: "127.0.0.1", port: 0 }, store, log });
  });

  after(async () => {
    await cortex?.close();
    await database?.close();
  });

  it("answers in Prometheus text format with neurons, ledger totals and gateway metrics", async () => {
    cortex.metrics.requestStarted({ model: "tiny", route: "chat" });
    cortex.metrics.requestFinished({ model: "tiny", status: "completed" });
    cortex.metrics.tokens({ model: "tiny", prompt: 12, completion: 34 });
    cortex.metrics.firstToken({ model: "tiny", seconds: 0.02 });
    cortex.metrics.setQueueDepthSource(() => 2);

    const url = cortex.orchestratorUrl!.replace(/^ws:/, "http:");
    const response = await fetch(`${url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), prometheusContentType);
    const text = await response.text();
    const families = parsePrometheusText(text);

    for (const name of [
      "helexa_neurons_online",
      "helexa_ledger_balance_microcredits",
      "helexa_requests_total",
      "helexa_tokens_total",
      "helexa_time_to_first_token_seconds",
      "helexa_inter_token_latency_seconds",
      "helexa_queue_wait_seconds",
      "helexa_queue_depth",
      "helexa_failovers_total",
      collectErrorsMetricName,
    ]) {
      assert.ok(families.get(name)?.help, `${name} has HELP`);
      assert.ok(families.get(name)?.type, `${name} has TYPE`);
    }
    const online = families.get("helexa_neurons_online")!.samples.reduce((sum, one) => sum + one.value, 0);
    assert.equal(online, 0);
    assert.equal(
      sampleValue(families, "helexa_ledger_balance_microcredits", { kind: "customer_credit" }),
      granted,
    );
    assert.equal(sampleValue(families, "helexa_ledger_balance_microcredits", { kind: "funding" }), -granted);
    assert.equal(
      sampleValue(families, "helexa_ledger_balance_microcredits", { kind: "operator_earnings" }),
      0,
    );
    assert.equal(
      sampleValue(families, "helexa_ledger_balance_microcredits", { kind: "platform_revenue" }),
      0,
    );
    assert.equal(sampleValue(families, "helexa_requests_total", { model: "tiny", status: "completed" }), 1);
    assert.equal(sampleValue(families, "helexa_tokens_total", { model: "tiny", kind: "completion" }), 34);
    assert.equal(sampleValue(families, "helexa_queue_depth"), 2);
    assert.equal(families.get(collectErrorsMetricName)!.samples.length, 0);

    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  });
});

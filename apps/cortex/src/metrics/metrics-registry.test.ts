// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the metrics registry: what it renders parses back strictly, with the values put in.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText, sampleValue } from "../testing/parse-prometheus-text.js";
import { collectErrorsMetricName, createMetricsRegistry } from "./metrics-registry.js";

describe("createMetricsRegistry", () => {
  it("renders counters, gauges and histograms that parse back with their values", async () => {
    const registry = createMetricsRegistry();
    const requests = registry.counter({
      name: "test_requests_total",
      help: "Requests.",
      labelNames: ["model", "status"],
    });
    const depth = registry.gauge({ name: "test_depth", help: "Depth." });
    const latency = registry.histogram({
      name: "test_latency_seconds",
      help: "Latency.",
      buckets: [0.1, 1, 10],
      labelNames: ["model"],
    });
    requests.inc({ model: "a", status: "completed" });
    requests.inc({ model: "a", status: "completed" }, 2);
    requests.inc({ model: "b", status: "failed" });
    requests.inc({ model: "b", status: "failed" }, -5); // ignored: counters only go up
    depth.set({}, 7);
    depth.dec({});
    for (const value of [0.05, 0.1, 0.5, 5, 50]) latency.observe({ model: "a" }, value);
    latency.observe({ model: "b" }, 0.2);

    const families = parsePrometheusText(await registry.render());
    assert.equal(families.get("test_requests_total")?.type, "counter");
    assert.equal(families.get("test_requests_total")?.help, "Requests.");
    assert.equal(sampleValue(families, "test_requests_total", { model: "a", status: "completed" }), 3);
    assert.equal(sampleValue(families, "test_requests_total", { model: "b", status: "failed" }), 1);
    assert.equal(sampleValue(families, "test_depth"), 6);
    assert.equal(families.get("test_latency_seconds")?.type, "histogram");
    const bucketsOfA = ["0.1", "1", "10", "+Inf"].map((le) =>
      sampleValue(families, "test_latency_seconds_bucket", { model: "a", le }),
    );
    // 0.1 falls in le="0.1" (upper bounds are inclusive); the buckets add up.
    assert.deepEqual(bucketsOfA, [2, 3, 4, 5]);
    assert.equal(sampleValue(families, "test_latency_seconds_count", { model: "a" }), 5);
    assert.ok(Math.abs(sampleValue(families, "test_latency_seconds_sum", { model: "a" })! - 55.65) < 1e-9);
    assert.equal(sampleValue(families, "test_latency_seconds_bucket", { model: "b", le: "0.1" }), 0);
    assert.equal(sampleValue(families, "test_latency_seconds_bucket", { model: "b", le: "1" }), 1);
  });

  it("escapes label values and help text", async () => {
    const registry = createMetricsRegistry();
    const counter = registry.counter({
      name: "test_escape_total",
      help: 'A back\\slash and a\nnewline; "quotes" stay.',
      labelNames: ["value"],
    });
    const awkward = 'quote " back\\slash \\n newline \n end';
    counter.inc({ value: awkward });
    const text = await registry.render();
    assert.ok(text.includes(String.raw`value="quote \" back\\slash \\n newline \n end"`), text);
    const families = parsePrometheusText(text);
    assert.equal(families.get("test_escape_total")?.help, 'A back\\slash and a\nnewline; "quotes" stay.');
    assert.equal(sampleValue(families, "test_escape_total", { value: awkward }), 1);
  });

  it("gives every sample a HELP and a TYPE and valid names, also with nothing recorded", async () => {
    const registry = createMetricsRegistry();
    registry.counter({ name: "test_unused_total", help: "Never incremented.", labelNames: ["x"] });
    registry.histogram({ name: "test_unused_seconds", help: "Never observed.", buckets: [1] });
    const text = await registry.render();
    parsePrometheusText(text);
    const lines = text.trimEnd().split("\n");
    for (const line of lines.filter((one) => !one.startsWith("#"))) {
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*[{ ]/);
    }
    assert.ok(lines.includes("# TYPE test_unused_seconds histogram"));
    assert.ok(lines.includes(`# TYPE ${collectErrorsMetricName} counter`));
  });

  it("refuses invalid names, labels and buckets", () => {
    const registry = createMetricsRegistry();
    assert.throws(() => registry.counter({ name: "9starts_with_digit", help: "x" }));
    assert.throws(() => registry.counter({ name: "has-dash", help: "x" }));
    assert.throws(() => registry.counter({ name: "ok_total", help: "x", labelNames: ["__reserved"] }));
    assert.throws(() => registry.counter({ name: "ok2_total", help: "x", labelNames: ["a", "a"] }));
    assert.throws(() => registry.histogram({ name: "h1", help: "x", buckets: [1], labelNames: ["le"] }));
    assert.throws(() => registry.histogram({ name: "h2", help: "x", buckets: [1, 1] }));
    assert.throws(() => registry.histogram({ name: "h3", help: "x", buckets: [Number.POSITIVE_INFINITY] }));
    registry.counter({ name: "twice_total", help: "x" });
    assert.throws(() => registry.gauge({ name: "twice_total", help: "x" }));
  });

  it("reads collect-time gauges at each scrape, sync and async", async () => {
    const registry = createMetricsRegistry();
    let depth = 3;
    registry.collectedGauge({ name: "test_queue_depth", help: "Depth.", collect: () => depth });
    registry.collectedGauge({
      name: "test_by_kind",
      help: "By kind.",
      labelNames: ["kind"],
      collect: async () => [
        { labels: { kind: "a" }, value: 1 },
        { labels: { kind: "b" }, value: -2 },
      ],
    });
    let families = parsePrometheusText(await registry.render());
    assert.equal(sampleValue(families, "test_queue_depth"), 3);
    assert.equal(sampleValue(families, "test_by_kind", { kind: "b" }), -2);
    depth = 5;
    families = parsePrometheusText(await registry.render());
    assert.equal(sampleValue(families, "test_queue_depth"), 5);
  });

  it("leaves out a source that fails or is too slow, counts it, and does not call a stuck one again", async () => {
    const failures: string[] = [];
    const registry = createMetricsRegistry({
      collectTimeoutMs: 50,
      onCollectError: (metric) => failures.push(metric),
    });
    let slowCalls = 0;
    registry.collectedGauge({
      name: "test_slow",
      help: "Never answers in time.",
      collect: () => {
        slowCalls++;
        return new Promise<number>(() => {});
      },
    });
    registry.collectedGauge({
      name: "test_failing",
      help: "Throws.",
      collect: () => {
        throw new Error("database is down");
      },
    });
    registry.collectedGauge({
      name: "test_duplicate",
      help: "The same series twice.",
      labelNames: ["kind"],
      collect: () => [
        { labels: { kind: "a" }, value: 1 },
        { labels: { kind: "a" }, value: 2 },
      ],
    });
    registry.collectedGauge({ name: "test_fine", help: "Answers.", collect: () => 1 });

    const started = Date.now();
    const families = parsePrometheusText(await registry.render());
    assert.ok(Date.now() - started < 1000);
    for (const missing of ["test_slow", "test_failing", "test_duplicate"]) {
      assert.equal(families.has(missing), false, missing);
      assert.equal(sampleValue(families, collectErrorsMetricName, { metric: missing }), 1);
    }
    assert.equal(sampleValue(families, "test_fine"), 1);
    assert.deepEqual(failures.sort(), ["test_duplicate", "test_failing", "test_slow"]);

    const again = parsePrometheusText(await registry.render());
    assert.equal(sampleValue(again, collectErrorsMetricName, { metric: "test_slow" }), 2);
    assert.equal(slowCalls, 1);
  });
});

describe("parsePrometheusText", () => {
  it("rejects what a scraper would reject", () => {
    const reject = (text: string) => assert.throws(() => parsePrometheusText(text), Error, text);
    reject("x 1\n"); // no TYPE, no HELP
    reject("# TYPE x counter\nx 1\n"); // no HELP
    reject("# HELP x X.\n# TYPE x counter\nx 1"); // no final newline
    reject('# HELP x X.\n# TYPE x counter\nx{a="b} 1\n');
    reject('# HELP x X.\n# TYPE x counter\nx{a="\\t"} 1\n');
    reject("# HELP x X.\n# TYPE x counter\nx one\n");
    reject("# HELP x X.\n# TYPE x counter\nx 1\nx 2\n");
    reject("# HELP x X.\n# TYPE x gauge\n# HELP y Y.\n# TYPE y gauge\ny 1\nx 1\n");
    reject(
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    );
    reject('# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n');
    parsePrometheusText(
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n',
    );
  });
});

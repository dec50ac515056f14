// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the provisioner: where a model goes (budget, fewest unloads, least recently used idle first), and jobs waiting on its load.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "@helexa/log";
import { type Capabilities, type CortexSessionMessage, HelexaError } from "@helexa/protocol";
import { createMetricsRegistry } from "../metrics/metrics-registry.js";
import { createProvisioningMetrics } from "../metrics/provisioning-metrics.js";
import { parsePrometheusText, sampleValue } from "../testing/parse-prometheus-text.js";
import type { Lease } from "./job-queue.js";
import { NeuronRegistry } from "./neuron-registry.js";
import type { NeuronSession } from "./neuron-session.js";
import { NeuronStats } from "./placement-stats.js";
import { type CatalogModelSource, Provisioner } from "./provisioner.js";
import { ProvisioningJobQueue } from "./provisioning-job-queue.js";

const MB = 1_000_000;

interface FakeNeuron extends NeuronSession {
  sent: CortexSessionMessage[];
}

/** A session as the provisioner and placement read it, recording what cortex sends it. */
function neuron(
  neuronId: string,
  options: { budget?: number; models?: Array<[string, number]>; provisioning?: boolean; slots?: number } = {},
): FakeNeuron {
  const sent: CortexSessionMessage[] = [];
  const capabilities: Capabilities = {
    type: "capabilities",
    models: (options.models ?? []).map(([id, sizeBytes]) => ({ id, contextLength: 2048, sizeBytes })),
    runtime: { kind: "llama-cpp", engine: "test" },
    hardware: { cpu: "test", cores: 2, memoryBytes: 8e9, gpu: null },
    slots: options.slots ?? 1,
    ...(options.provisioning === false ? {} : { provisioning: true }),
    ...(options.budget === undefined ? {} : { memoryBudgetBytes: options.budget }),
  };
  const session = {
    neuronId,
    name: neuronId,
    ready: true,
    draining: false,
    capabilities,
    get models() {
      return session.capabilities.models;
    },
    get slots() {
      return session.capabilities.slots;
    },
    activeJobs: 0,
    stats: new NeuronStats(),
    sent,
    sendSession: (message: CortexSessionMessage) => sent.push(message),
    close() {},
  };
  return session as unknown as FakeNeuron;
}

/** What the neuron says once it has done what it was asked: its fresh capabilities. */
function announce(registry: NeuronRegistry, session: FakeNeuron, models: Array<[string, number]>): void {
  session.capabilities = {
    ...session.capabilities!,
    models: models.map(([id, sizeBytes]) => ({ id, contextLength: 2048, sizeBytes })),
  };
  registry.updated(session);
}

function catalogOf(entries: Record<string, Partial<CatalogModelSource>>) {
  return async (modelId: string): Promise<CatalogModelSource | null> => {
    const entry = entries[modelId];
    if (!entry) return null;
    return {
      id: modelId,
      sourceUrl: `http://models.test/${modelId}.gguf`,
      sha256: "a".repeat(64),
      sizeBytes: 100 * MB,
      contextLength: 4096,
      ...entry,
    };
  };
}

function setUp(options: {
  neurons: FakeNeuron[];
  catalog: Record<string, Partial<CatalogModelSource>>;
  timeoutMs?: number;
}) {
  let now = 0;
  const registry = new NeuronRegistry();
  const metricsRegistry = createMetricsRegistry();
  const provisioner = new Provisioner({
    registry,
    catalog: catalogOf(options.catalog),
    log: createLogger({ level: "silent" }),
    metrics: createProvisioningMetrics(metricsRegistry),
    now: () => now,
    catalogCacheMs: 0,
  });
  const queue = new ProvisioningJobQueue({
    registry,
    provisioner,
    maxWaiting: 100,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  for (const session of options.neurons) registry.add(session);
  return {
    registry,
    provisioner,
    queue,
    metricsRegistry,
    advance(ms: number) {
      now += ms;
    },
    close() {
      queue.close();
      provisioner.close();
    },
  };
}

/** Runs one job of the model to its end on whichever neuron the queue gives it. */
async function useModel(queue: ProvisioningJobQueue, modelId: string): Promise<NeuronSession> {
  const lease = await queue.acquire({ accountId: "account", modelId });
  lease.release();
  return lease.session;
}

function loadsAndUnloads(session: FakeNeuron): string[] {
  return session.sent.map((message) =>
    message.type === "model.load" || message.type === "model.unload"
      ? `${message.type} ${message.modelId}`
      : "",
  );
}

describe("Provisioner: where a model goes", () => {
  it("a neuron with room needs no unload and wins over one that would have to unload; others are never asked", async () => {
    const full = neuron("full", { budget: 300 * MB, models: [["old", 250 * MB]] });
    const roomy = neuron("roomy", { budget: 300 * MB, models: [["other", 100 * MB]] });
    const refuses = neuron("refuses", { budget: 10_000 * MB, provisioning: false });
    const tooSmall = neuron("too-small", { budget: 50 * MB });
    const fabric = setUp({ neurons: [full, roomy, refuses, tooSmall], catalog: { wanted: {} } });
    const plan = fabric.provisioner.plan("wanted", 100 * MB);
    assert.equal(plan?.session, roomy);
    assert.deepEqual(plan?.evict, []);
    assert.equal(plan?.freeAfter, 100 * MB);

    assert.deepEqual(await fabric.provisioner.provision("wanted"), { id: "wanted", contextLength: 4096 });
    assert.deepEqual(loadsAndUnloads(roomy), ["model.load wanted"]);
    const load = roomy.sent[0];
    assert.deepEqual(load, {
      type: "model.load",
      modelId: "wanted",
      url: "http://models.test/wanted.gguf",
      sha256: "a".repeat(64),
      sizeBytes: 100 * MB,
      contextLength: 4096,
    });
    for (const other of [full, refuses, tooSmall]) assert.deepEqual(other.sent, []);
    // A second request while it loads joins the same load.
    await fabric.provisioner.provision("wanted");
    assert.equal(roomy.sent.length, 1);
    fabric.close();
  });

  it("unloads the least recently used idle models first, and only as many as it takes; never one in use", async () => {
    const session = neuron("one", {
      budget: 400 * MB,
      models: [
        ["a", 100 * MB],
        ["b", 100 * MB],
        ["c", 100 * MB],
        ["d", 100 * MB],
      ],
      slots: 4,
    });
    const fabric = setUp({ neurons: [session], catalog: { wanted: { sizeBytes: 150 * MB } } });
    // Used in the order c, a, d, b (b most recently); d's job is still running.
    for (const model of ["c", "a"]) {
      await useModel(fabric.queue, model);
      fabric.advance(1000);
    }
    const running: Lease = await fabric.queue.acquire({ accountId: "account", modelId: "d" });
    fabric.advance(1000);
    await useModel(fabric.queue, "b");

    // 150 MB needs two models out: c and a, the least recently used; d is busy and b was used last.
    assert.deepEqual(fabric.provisioner.plan("wanted", 150 * MB)?.evict, ["c", "a"]);
    await fabric.provisioner.provision("wanted");
    assert.deepEqual(loadsAndUnloads(session), ["model.unload c", "model.unload a", "model.load wanted"]);
    // Placement stops offering what is being unloaded at once.
    assert.deepEqual(
      session.models.map((model) => model.id),
      ["b", "d"],
    );
    running.release();
    fabric.close();
  });

  it("a model jobs are waiting for is not unloaded; a model never used here goes before one that was", async () => {
    const session = neuron("one", {
      budget: 200 * MB,
      models: [
        ["used", 100 * MB],
        ["waited-for", 50 * MB],
        ["never-used", 50 * MB],
      ],
    });
    const fabric = setUp({ neurons: [session], catalog: { wanted: { sizeBytes: 100 * MB } } });
    await useModel(fabric.queue, "used");
    const busy = await fabric.queue.acquire({ accountId: "account", modelId: "used" });
    // The neuron's one slot is taken: a job for "waited-for" waits in the queue.
    const waiting = fabric.queue.acquire({ accountId: "account", modelId: "waited-for" });
    assert.deepEqual(fabric.provisioner.plan("wanted", 100 * MB), null, "only 50 MB could be freed");
    busy.release();
    const served = await waiting;
    fabric.advance(1000);
    served.release();
    // Now idle: "never-used" first, then the least recently used of the others ("used", before "waited-for").
    assert.deepEqual(fabric.provisioner.plan("wanted", 100 * MB)?.evict, ["never-used", "used"]);
    fabric.close();
  });

  it("says why when no neuron can take the model, and what the catalog lacks", async () => {
    const small = neuron("small", { budget: 100 * MB, models: [["kept", 80 * MB]] });
    const fabric = setUp({
      neurons: [small],
      catalog: { huge: { sizeBytes: 5000 * MB }, unsourced: { sourceUrl: null } },
    });
    await assert.rejects(fabric.provisioner.provision("huge"), (error) => {
      assert.ok(HelexaError.is(error));
      assert.equal(error.code, "no_capacity");
      assert.match(error.message, /none of the 1 that load models has room for it \(5000\.0 MB\)/);
      return true;
    });
    await assert.rejects(fabric.provisioner.provision("unsourced"), /has no source URL, sha256 and size/);
    assert.equal(await fabric.provisioner.provision("not-in-catalog"), null);
    assert.deepEqual(small.sent, []);
    fabric.close();
  });
});

describe("Provisioner: jobs waiting on a load", () => {
  it("a job waits in the queue until the neuron lists the model, then runs there; the load is counted", async () => {
    const session = neuron("one", { budget: 300 * MB });
    const fabric = setUp({ neurons: [session], catalog: { wanted: {} } });
    await fabric.provisioner.provision("wanted");
    let granted: Lease | null = null;
    const job = fabric.queue.acquire({ accountId: "account", modelId: "wanted" }).then((lease) => {
      granted = lease;
      return lease;
    });
    fabric.provisioner.onModelMessage(session, {
      type: "model.progress",
      modelId: "wanted",
      phase: "download",
      fraction: 0.5,
      bytes: 50 * MB,
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(granted, null, "it waits for the load");
    assert.equal(fabric.provisioner.loading()[0]?.modelId, "wanted");
    announce(fabric.registry, session, [["wanted", 100 * MB]]);
    const lease = await job;
    assert.equal(lease.session, session);
    lease.release();
    assert.deepEqual(fabric.provisioner.loading(), []);
    const families = parsePrometheusText(await fabric.metricsRegistry.render());
    assert.equal(sampleValue(families, "helexa_model_loads_started_total", { model: "wanted" }), 1);
    assert.equal(sampleValue(families, "helexa_model_loads_total", { model: "wanted", result: "loaded" }), 1);
    assert.equal(sampleValue(families, "helexa_model_loads_in_progress", {}), 0);
    fabric.close();
  });

  it("a failed load fails the waiting jobs with the neuron's error, answers new requests with it, and is retried when the catalog changes", async () => {
    const session = neuron("one", { budget: 300 * MB });
    const catalog: Record<string, Partial<CatalogModelSource>> = { wanted: {} };
    const fabric = setUp({ neurons: [session], catalog });
    await fabric.provisioner.provision("wanted");
    const waiting = fabric.queue.acquire({ accountId: "account", modelId: "wanted" });
    const error = new HelexaError(
      "checksum_mismatch",
      "model wanted could not be downloaded on neuron one: mismatch",
    );
    fabric.provisioner.onModelMessage(session, {
      type: "model.error",
      modelId: "wanted",
      error: error.toWire(),
    });
    await assert.rejects(waiting, (rejected) => {
      assert.ok(HelexaError.is(rejected));
      assert.equal(rejected.code, "checksum_mismatch");
      assert.equal(rejected.message, error.message);
      return true;
    });
    // The same catalog entry: the same answer at once, without a new download...
    await assert.rejects(fabric.provisioner.provision("wanted"), /could not be downloaded on neuron one/);
    // ...and a job that reaches the queue anyway fails at once too.
    await assert.rejects(fabric.queue.acquire({ accountId: "account", modelId: "wanted" }), /mismatch/);
    assert.equal(session.sent.length, 1);
    // A fixed catalog entry is loaded again.
    catalog.wanted = { sha256: "b".repeat(64) };
    await fabric.provisioner.provision("wanted");
    assert.deepEqual(loadsAndUnloads(session), ["model.load wanted", "model.load wanted"]);
    const families = parsePrometheusText(await fabric.metricsRegistry.render());
    assert.equal(sampleValue(families, "helexa_model_loads_total", { model: "wanted", result: "failed" }), 1);
    fabric.close();
  });

  it("a neuron that leaves while loading fails the waiting jobs as neuron_lost", async () => {
    const session = neuron("one", { budget: 300 * MB });
    const fabric = setUp({ neurons: [session], catalog: { wanted: {} } });
    await fabric.provisioner.provision("wanted");
    const waiting = fabric.queue.acquire({ accountId: "account", modelId: "wanted" });
    fabric.registry.remove(session);
    await assert.rejects(waiting, (error) => HelexaError.is(error) && error.code === "neuron_lost");
    fabric.close();
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of placement: speed, failures and free slots decide, slots are never exceeded, the index follows the registry.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JobQueue, type Lease } from "./job-queue.js";
import { NeuronRegistry } from "./neuron-registry.js";
import type { NeuronSession } from "./neuron-session.js";
import { Placement, placementScore } from "./placement.js";
import { NeuronStats } from "./placement-stats.js";

/** A clock the test moves by hand. */
function manualClock() {
  let now = 0;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

interface FakeOptions {
  slots?: number;
  models?: string[];
  tokensPerSecond?: number;
  failures?: number;
  now?: () => number;
}

/** The part of a session placement reads, with figures recorded as its jobs would record them. */
function neuron(neuronId: string, options: FakeOptions = {}): NeuronSession {
  const stats = new NeuronStats(options.now ? { now: options.now } : {});
  if (options.tokensPerSecond)
    stats.recordJob({ completionTokens: options.tokensPerSecond, decodeSeconds: 1, failed: false });
  for (let index = 0; index < (options.failures ?? 0); index++)
    stats.recordJob({ completionTokens: 0, decodeSeconds: 0, failed: true });
  const capabilities = {
    slots: options.slots ?? 1,
    models: (options.models ?? ["m"]).map((id) => ({ id, contextLength: 2048 })),
  };
  return {
    neuronId,
    ready: true,
    draining: false,
    capabilities,
    get slots() {
      return capabilities.slots;
    },
    get models() {
      return capabilities.models;
    },
    stats,
    close() {},
  } as unknown as NeuronSession;
}

/** A seeded generator (mulberry32), so sampled placements repeat from run to run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function setUp(options: { exactUpTo?: number; seed?: number } = {}) {
  const registry = new NeuronRegistry();
  const queue = new JobQueue({
    registry,
    maxWaiting: 100,
    timeoutMs: 10_000,
    placement: { random: seeded(options.seed ?? 1), exactUpTo: options.exactUpTo ?? 16 },
  });
  return { registry, queue };
}

const place = (queue: JobQueue, modelId = "m") => queue.acquire({ accountId: "x", modelId });

describe("placement", () => {
  it("prefers the faster neuron when both are free", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("slow", { tokensPerSecond: 20 }));
    registry.add(neuron("fast", { tokensPerSecond: 80 }));
    assert.equal((await place(queue)).session.neuronId, "fast");
    queue.close();
  });

  it("an unmeasured neuron is neither favoured nor shunned: free slots decide", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("measured", { tokensPerSecond: 50, slots: 2 }));
    registry.add(neuron("new", { slots: 2 }));
    const first = await place(queue);
    const second = await place(queue);
    assert.deepEqual([first.session.neuronId, second.session.neuronId].sort(), ["measured", "new"]);
    queue.close();
  });

  it("avoids a neuron with recent failures while another has room, and forgives it minutes later", async () => {
    const clock = manualClock();
    const { registry, queue } = setUp();
    registry.add(neuron("failing", { tokensPerSecond: 80, failures: 1, now: clock.now }));
    registry.add(neuron("healthy", { tokensPerSecond: 40, now: clock.now }));
    const lease = await place(queue);
    assert.equal(lease.session.neuronId, "healthy");
    lease.release();
    clock.advance(10 * 60_000);
    assert.equal((await place(queue)).session.neuronId, "failing", "ten half-lives later it is fast again");
    queue.close();
  });

  it("still uses a slow or failing neuron when it is the only one with room", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("fast", { tokensPerSecond: 100 }));
    registry.add(neuron("slow", { tokensPerSecond: 5 }));
    registry.add(neuron("failing", { tokensPerSecond: 100, failures: 3 }));
    const leases = [await place(queue), await place(queue), await place(queue)];
    assert.deepEqual(
      leases.map((lease) => lease.session.neuronId),
      ["fast", "slow", "failing"],
    );
    queue.close();
  });

  it("never places more jobs on a neuron than it has slots, whether it scores all or samples two", async () => {
    for (const exactUpTo of [2, 64]) {
      const { registry, queue } = setUp({ exactUpTo, seed: 7 });
      const random = seeded(3);
      const sessions: NeuronSession[] = [];
      for (let index = 0; index < 40; index++) {
        const session = neuron(`n${index}`, {
          slots: 1 + Math.floor(random() * 4),
          models: index % 2 === 0 ? ["m"] : ["m", "n"],
          tokensPerSecond: 5 + random() * 100,
          failures: index % 7 === 0 ? 1 : 0,
        });
        sessions.push(session);
        registry.add(session);
      }
      const totalSlots = sessions.reduce((sum, session) => sum + session.slots, 0);
      const leases: Lease[] = [];
      // Churn: place, release a third at random, place again, until every slot is taken.
      while (leases.length < totalSlots) {
        leases.push(await place(queue));
        if (random() < 0.3) leases.splice(Math.floor(random() * leases.length), 1)[0]?.release();
        const perSession = new Map<NeuronSession, number>();
        for (const lease of leases) perSession.set(lease.session, (perSession.get(lease.session) ?? 0) + 1);
        for (const [session, count] of perSession) assert.ok(count <= session.slots, `${session.neuronId}`);
      }
      assert.equal(queue.running, totalSlots);
      // Half the neurons also serve "n": their slots are the same slots, all taken.
      let extra = 0;
      const waiting = [place(queue), place(queue, "n")].map((wait) =>
        wait.then((lease) => {
          extra++;
          return lease;
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(extra, 0, "every slot is taken: the next jobs wait, for either model");
      for (const lease of leases) lease.release();
      await Promise.all(waiting);
      queue.close();
    }
  });

  it("sampling two at random still sends most jobs to the faster neurons", async () => {
    const { registry, queue } = setUp({ exactUpTo: 2, seed: 11 });
    for (let index = 0; index < 50; index++) {
      registry.add(neuron(`slow${index}`, { tokensPerSecond: 10, slots: 4 }));
      registry.add(neuron(`fast${index}`, { tokensPerSecond: 40, slots: 4 }));
    }
    let fast = 0;
    for (let index = 0; index < 1000; index++) {
      const lease = await place(queue);
      if (lease.session.neuronId.startsWith("fast")) fast++;
      lease.release();
    }
    // A pair of one each (half the pairs) goes to the fast one, a pair of two of a kind evenly: 75%.
    assert.ok(fast > 680 && fast < 820, `fast neurons got ${fast} of 1000`);
    queue.close();
  });

  it("follows the registry: capabilities that change move a neuron between models, and one that leaves gets no job", async () => {
    const { registry, queue } = setUp();
    const session = neuron("a", { models: ["m"] });
    registry.add(session);
    (session as unknown as { capabilities: { models: unknown[] } }).capabilities.models = [
      { id: "n", contextLength: 2048 },
    ];
    registry.updated(session);
    assert.deepEqual([...registry.serving("m")], []);
    assert.deepEqual([...registry.serving("n")], [session]);
    const lease = await place(queue, "n");
    assert.equal(lease.session, session);
    lease.release();
    registry.remove(session);
    assert.equal(registry.pick("n"), null);
    const waiting = place(queue, "n");
    const late = neuron("b", { models: ["n"] });
    registry.add(late);
    assert.equal((await waiting).session, late);
    queue.close();
  });

  it("skips a draining neuron", () => {
    const placement = new Placement();
    const draining = neuron("draining", { tokensPerSecond: 100 });
    (draining as unknown as { draining: boolean }).draining = true;
    placement.add(draining);
    assert.equal(placement.choose("m"), null);
    const other = neuron("other", { tokensPerSecond: 1 });
    placement.add(other);
    assert.equal(placement.choose("m"), other);
  });
});

describe("placementScore", () => {
  const prior = { tokensPerSecond: 50, roundTripMs: 20 };
  const base = { slots: 4, inFlight: 0, tokensPerSecond: 50, roundTripMs: 20, recentFailures: 0 };

  it("is zero for a full neuron and grows with free slots and speed", () => {
    assert.equal(placementScore({ ...base, inFlight: 4 }, prior), 0);
    assert.ok(
      placementScore({ ...base, inFlight: 1 }, prior) > placementScore({ ...base, inFlight: 2 }, prior),
    );
    assert.ok(placementScore({ ...base, tokensPerSecond: 60 }, prior) > placementScore(base, prior));
  });

  it("weighs the round trip against speed as a 256-token reply feels them", () => {
    const nearSlow = placementScore({ ...base, tokensPerSecond: 50, roundTripMs: 5 }, prior);
    const farFast = placementScore({ ...base, tokensPerSecond: 100, roundTripMs: 300 }, prior);
    assert.ok(farFast > nearSlow, "twice the speed outweighs 300 ms once per job");
    assert.ok(placementScore({ ...base, roundTripMs: 5 }, prior) > placementScore(base, prior));
  });

  it("divides by 16 per fresh failure", () => {
    const healthy = placementScore(base, prior);
    assert.ok(Math.abs(placementScore({ ...base, recentFailures: 1 }, prior) - healthy / 16) < 1e-12);
  });
});

describe("NeuronStats", () => {
  it("averages tokens/s over recent jobs, ignores failed and too-short ones, and lets failures fade", () => {
    const clock = manualClock();
    const stats = new NeuronStats({ now: clock.now, alpha: 0.5, failureHalfLifeMs: 60_000 });
    assert.equal(stats.tokensPerSecond, null);
    stats.recordJob({ completionTokens: 100, decodeSeconds: 1, failed: false });
    assert.equal(stats.tokensPerSecond, 100);
    stats.recordJob({ completionTokens: 50, decodeSeconds: 1, failed: false });
    assert.equal(stats.tokensPerSecond, 75);
    stats.recordJob({ completionTokens: 1, decodeSeconds: 0.0001, failed: false });
    stats.recordJob({ completionTokens: 0, decodeSeconds: 0, failed: true });
    assert.equal(stats.tokensPerSecond, 75);
    assert.equal(stats.recentFailures, 1);
    clock.advance(60_000);
    assert.equal(stats.recentFailures, 0.5);
    stats.recordJob({ completionTokens: 0, decodeSeconds: 0, failed: true });
    assert.equal(stats.recentFailures, 1.5);
    clock.advance(240_000);
    assert.ok(stats.recentFailures < 0.1);
    stats.recordRoundTrip(10);
    stats.recordRoundTrip(30);
    assert.equal(stats.roundTripMs, 20);
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the job queue: free slots first, a bounded wait, and fairness between accounts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { JobQueue, type Lease } from "./job-queue.js";
import { NeuronRegistry } from "./neuron-registry.js";
import type { NeuronSession } from "./neuron-session.js";
import { NeuronStats } from "./placement-stats.js";

/** The part of a session the queue reads: readiness, models, slots and measured figures. */
function neuron(neuronId: string, options: { slots?: number; model?: string } = {}): NeuronSession {
  return {
    neuronId,
    ready: true,
    slots: options.slots ?? 1,
    models: [{ id: options.model ?? "m", contextLength: 2048 }],
    stats: new NeuronStats(),
    close() {},
  } as unknown as NeuronSession;
}

function setUp(options: { maxWaiting?: number; timeoutMs?: number } = {}) {
  const registry = new NeuronRegistry();
  const queue = new JobQueue({
    registry,
    maxWaiting: options.maxWaiting ?? 100,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  return { registry, queue };
}

const isRateLimited = (error: unknown) =>
  HelexaError.is(error) && error.code === "rate_limited" && (error.retryAfterSeconds ?? 0) >= 1;

describe("JobQueue", () => {
  it("places on the least loaded free neuron at once, and makes the next job wait for a release", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("a", { slots: 2 }));
    registry.add(neuron("b", { slots: 1 }));
    const first = await queue.acquire({ accountId: "x", modelId: "m" });
    const second = await queue.acquire({ accountId: "x", modelId: "m" });
    const third = await queue.acquire({ accountId: "x", modelId: "m" });
    assert.deepEqual(
      [first, second, third].map((lease) => lease.session.neuronId).sort(),
      ["a", "a", "b"],
      "three slots, three jobs",
    );
    let fourth: Lease | null = null;
    const waiting = queue.acquire({ accountId: "x", modelId: "m" }).then((lease) => {
      fourth = lease;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(fourth, null);
    assert.equal(queue.depth, 1);
    third.release();
    await waiting;
    assert.equal((fourth as Lease | null)?.session.neuronId, third.session.neuronId);
    assert.equal(queue.depth, 0);
    third.release();
    assert.equal(queue.running, 3, "a second release of one lease frees nothing more");
    queue.close();
  });

  it("serves the accounts in turn: one that queued ten jobs does not make another wait behind all ten", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("only"));
    const granted: Array<{ account: string; lease: Lease }> = [];
    let current = await queue.acquire({ accountId: "heavy", modelId: "m" });
    const waits: Array<Promise<unknown>> = [];
    const enqueue = (account: string) =>
      waits.push(
        queue.acquire({ accountId: account, modelId: "m" }).then((lease) => granted.push({ account, lease })),
      );
    for (let index = 0; index < 10; index++) enqueue("heavy");
    enqueue("light");
    // One slot: each release hands it to exactly one waiting job.
    for (let served = 0; served < 11; served++) {
      current.release();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(granted.length, served + 1);
      current = granted[served]!.lease;
    }
    await Promise.all(waits);
    assert.equal(granted[0]?.account, "light", `order: ${granted.map((entry) => entry.account).join(",")}`);
    queue.close();
  });

  it("answers 429 with Retry-After when the queue is full, and when the wait times out", async () => {
    const { registry, queue } = setUp({ maxWaiting: 2, timeoutMs: 200 });
    registry.add(neuron("only"));
    await queue.acquire({ accountId: "x", modelId: "m" });
    const waiting = [
      queue.acquire({ accountId: "x", modelId: "m" }),
      queue.acquire({ accountId: "y", modelId: "m" }),
    ];
    await assert.rejects(queue.acquire({ accountId: "z", modelId: "m" }), isRateLimited);
    for (const wait of waiting) await assert.rejects(wait, isRateLimited);
    assert.equal(queue.depth, 0, "timed-out jobs leave the queue");
    queue.close();
  });

  it("a job that is cancelled while it waits leaves the queue with the reason", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("only"));
    const held = await queue.acquire({ accountId: "x", modelId: "m" });
    const abort = new AbortController();
    const waiting = queue.acquire({ accountId: "x", modelId: "m", signal: abort.signal });
    abort.abort(new HelexaError("insufficient_quota", "no credit"));
    await assert.rejects(
      waiting,
      (error: unknown) => HelexaError.is(error) && error.code === "insufficient_quota",
    );
    assert.equal(queue.depth, 0);
    held.release();
    assert.equal(queue.running, 0, "the cancelled job took no slot");
    queue.close();
  });

  it("a job for another model is not held up by jobs waiting for a busy one", async () => {
    const { registry, queue } = setUp();
    registry.add(neuron("m-box", { model: "m" }));
    registry.add(neuron("n-box", { model: "n" }));
    await queue.acquire({ accountId: "x", modelId: "m" });
    const waiting = queue.acquire({ accountId: "x", modelId: "m" });
    const other = await queue.acquire({ accountId: "x", modelId: "n" });
    assert.equal(other.session.neuronId, "n-box");
    queue.close();
    await assert.rejects(waiting);
  });

  it("a neuron joining gives its slots to jobs that wait", async () => {
    const { registry, queue } = setUp();
    const waiting = queue.acquire({ accountId: "x", modelId: "m" });
    registry.add(neuron("late"));
    assert.equal((await waiting).session.neuronId, "late");
    queue.close();
  });
  it("a job moving after a failure goes before every waiting job, and only to a neuron it accepts", async () => {
    const { registry, queue } = setUp();
    const a = neuron("a");
    const b = neuron("b");
    registry.add(a);
    registry.add(b);
    const onA = await queue.acquire({ accountId: "x", modelId: "m", accept: (session) => session === a });
    assert.equal(onA.session, a, "accept narrowed the choice to a");
    const onB = await queue.acquire({ accountId: "y", modelId: "m" });
    const order: string[] = [];
    const waiting = queue.acquire({ accountId: "z", modelId: "m" }).then((lease) => {
      order.push("waiting");
      return lease;
    });
    const moving = queue
      .acquire({ accountId: "x", modelId: "m", priority: true, accept: (session) => session !== a })
      .then((lease) => {
        order.push("moving");
        return lease;
      });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(queue.depth, 2);
    onA.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ["waiting"], "a's free slot goes to the waiting job: the moving one refuses a");
    onB.release();
    const moved = await moving;
    assert.equal(moved.session, b);
    assert.deepEqual(order, ["waiting", "moving"]);
    assert.equal((await waiting).session, a);
    assert.equal(queue.depth, 0);
  });

  it("a moving job is admitted when the queue is full", async () => {
    const { registry, queue } = setUp({ maxWaiting: 1 });
    registry.add(neuron("a"));
    const busy = await queue.acquire({ accountId: "x", modelId: "m" });
    const waiting = queue.acquire({ accountId: "y", modelId: "m" });
    await assert.rejects(queue.acquire({ accountId: "z", modelId: "m" }), isRateLimited);
    const moving = queue.acquire({ accountId: "x", modelId: "m", priority: true });
    busy.release();
    assert.equal((await moving).session.neuronId, "a", "the moving job went first");
    (await moving).release();
    assert.equal((await waiting).session.neuronId, "a");
  });
});

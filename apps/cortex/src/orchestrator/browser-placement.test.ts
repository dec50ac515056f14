// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of placement with browser tabs: a tab gets only jobs within its limits, and long jobs go to native neurons while one serves the model.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Capabilities, type GenerationRequest, HelexaError } from "@helexa/protocol";
import { JobQueue, type Lease } from "./job-queue.js";
import { estimatePromptTokens, type JobSize, jobSizeOf } from "./job-size.js";
import { NeuronRegistry } from "./neuron-registry.js";
import { NeuronSession } from "./neuron-session.js";
import { NeuronStats } from "./placement-stats.js";

interface FakeOptions {
  host?: "native" | "browser";
  maxJobTokens?: number;
  slots?: number;
  contextLength?: number;
  /** What the neuron says it measured itself. */
  advertisedTokensPerSecond?: number;
  /** What its jobs measured here. */
  tokensPerSecond?: number;
}

/** The part of a session placement reads, as a tab or a native neuron would describe itself. */
function neuron(neuronId: string, options: FakeOptions = {}): NeuronSession {
  const stats = new NeuronStats();
  if (options.tokensPerSecond)
    stats.recordJob({ completionTokens: options.tokensPerSecond, decodeSeconds: 1, failed: false });
  const capabilities = {
    slots: options.slots ?? 1,
    models: [
      {
        id: "m",
        contextLength: options.contextLength ?? 4096,
        ...(options.advertisedTokensPerSecond ? { tokensPerSecond: options.advertisedTokensPerSecond } : {}),
      },
    ],
    ...(options.host ? { host: options.host } : {}),
    ...(options.maxJobTokens ? { limits: { maxJobTokens: options.maxJobTokens } } : {}),
  };
  const session = {
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
  };
  return session as unknown as NeuronSession;
}

const tab = (neuronId: string, options: FakeOptions = {}) =>
  neuron(neuronId, { host: "browser", maxJobTokens: 512, contextLength: 2048, ...options });

function setUp(options: { longJobTokens?: number } = {}) {
  const registry = new NeuronRegistry();
  const queue = new JobQueue({
    registry,
    maxWaiting: 100,
    timeoutMs: 10_000,
    placement: { random: () => 0.5, ...options },
  });
  return { registry, queue };
}

const place = (queue: JobQueue, size: JobSize) => queue.acquire({ accountId: "x", modelId: "m", size });
const short = (promptTokens: number, maxTokens: number): JobSize => ({ promptTokens, maxTokens });
const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe("placement with browser tabs", () => {
  it("gives a tab a job whose prompt estimate and max_tokens fit its limit, and refuses one that fits no neuron", async () => {
    const { registry, queue } = setUp();
    registry.add(tab("tab", { slots: 4 }));
    const fits = await place(queue, short(100, 412));
    assert.equal(fits.session.neuronId, "tab");
    fits.release();
    // One token over the tab's 512, and no other neuron serves the model: refused at once, naming max_tokens.
    await assert.rejects(place(queue, short(100, 413)), (error: unknown) => {
      assert.ok(HelexaError.is(error));
      assert.equal(error.code, "invalid_request");
      assert.equal(error.param, "max_tokens");
      assert.match(error.message, /about 100 prompt tokens plus max_tokens 413; at most 512/);
      return true;
    });
    assert.equal(queue.depth, 0, "nothing was left waiting");
    // No max_tokens: the job may run to the tab's context (2048), over its limit.
    await assert.rejects(place(queue, { promptTokens: 10, maxTokens: null }), /no max_tokens/);
  });

  it("sends a job too big for the tab to a native neuron, and never to the tab while it waits for one", async () => {
    const { registry, queue } = setUp();
    registry.add(tab("tab", { slots: 4 }));
    registry.add(neuron("native", { slots: 1 }));
    const native = await place(queue, short(200, 900));
    assert.equal(native.session.neuronId, "native");
    // The native neuron is busy: the next big job waits for it although the tab is free.
    let second: Lease | null = null;
    const waiting = place(queue, short(200, 900)).then((lease) => {
      second = lease;
    });
    await nextTick();
    assert.equal(second, null);
    assert.equal(queue.depth, 1);
    // A small job meanwhile takes the free tab, ahead of nobody waiting for it.
    const small = await place(queue, short(20, 64));
    assert.equal(small.session.neuronId, "tab");
    native.release();
    await waiting;
    assert.equal((second as Lease | null)?.session.neuronId, "native");
  });

  it("prefers a native neuron for long generations, busy or not, and uses a tab for them when none serves the model", async () => {
    const { registry, queue } = setUp({ longJobTokens: 256 });
    // The tab is idle, faster by its own measure and big enough: a short job would go there.
    const browser = tab("tab", { slots: 2, maxJobTokens: 2048, advertisedTokensPerSecond: 500 });
    const native = neuron("native", { slots: 1, tokensPerSecond: 20 });
    registry.add(browser);
    registry.add(native);
    const shortJob = await place(queue, short(10, 256));
    assert.equal(shortJob.session.neuronId, "tab", "a short job goes to the faster, emptier tab");
    shortJob.release();
    const long = await place(queue, short(10, 257));
    assert.equal(long.session.neuronId, "native", "one token past the threshold is long");
    let unbounded: Lease | null = null;
    const waiting = place(queue, { promptTokens: 10, maxTokens: null }).then((lease) => {
      unbounded = lease;
    });
    await nextTick();
    assert.equal(unbounded, null, "a long job waits for the busy native neuron rather than take the tab");
    long.release();
    await waiting;
    assert.equal((unbounded as Lease | null)?.session.neuronId, "native");
    (unbounded as Lease | null)?.release();

    // The native neuron drains: long jobs may go to the tab now.
    native.draining = true;
    registry.updated(native);
    const whileDraining = await place(queue, short(10, 1000));
    assert.equal(whileDraining.session.neuronId, "tab");
    whileDraining.release();
    // And once it has left, likewise.
    registry.remove(native);
    assert.equal((await place(queue, { promptTokens: 10, maxTokens: null })).session.neuronId, "tab");
  });

  it("weighs a tab's own measured tokens/s until its jobs measure it", async () => {
    const { registry, queue } = setUp();
    registry.add(tab("slow", { advertisedTokensPerSecond: 5 }));
    registry.add(tab("fast", { advertisedTokensPerSecond: 50 }));
    assert.equal((await place(queue, short(10, 100))).session.neuronId, "fast");
  });

  it("counts a tab's concurrent-job limit as its slots", () => {
    const peer = { onMessage() {}, onClose() {}, opened: new Promise(() => {}) };
    const session = new NeuronSession({
      neuronId: "tab",
      operatorAccountId: null,
      name: "tab",
      socket: {} as never,
      peer: peer as never,
      onClose() {},
      log() {},
    });
    const capabilities: Capabilities = {
      type: "capabilities",
      models: [{ id: "m", contextLength: 2048, tokensPerSecond: 12.5 }],
      runtime: { kind: "wllama", engine: "wllama 3.13.0 wasm" },
      host: "browser",
      limits: { maxJobTokens: 1024, maxConcurrentJobs: 1 },
      hardware: { cpu: "browser", cores: 8, memoryBytes: 0, gpu: null },
      slots: 4,
    };
    session.capabilities = capabilities;
    assert.equal(session.slots, 1);
    session.capabilities = { ...capabilities, limits: { maxJobTokens: 1024 } };
    assert.equal(session.slots, 4);
  });

  it("estimates a prompt from its bytes and messages, leaning high", () => {
    const request = (content: string): GenerationRequest => ({
      model: "m",
      input: { kind: "chat", messages: [{ role: "user", content }] },
      sampling: { maxTokens: 64 },
    });
    // 300 ASCII bytes: 100 tokens, plus the template's share for the conversation and the message.
    assert.equal(estimatePromptTokens(request("x".repeat(300))), 116);
    // Bytes, not characters: 100 euro signs are 300 bytes.
    assert.equal(estimatePromptTokens(request("€".repeat(100))), 116);
    assert.deepEqual(jobSizeOf({ ...request("hi"), sampling: {} }), { promptTokens: 17, maxTokens: null });
    assert.equal(
      estimatePromptTokens({ model: "m", input: { kind: "text", prompt: "abcdef" }, sampling: {} }),
      2,
    );
  });
});

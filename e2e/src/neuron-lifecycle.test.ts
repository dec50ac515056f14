// SPDX-License-Identifier: PolyForm-Shield-1.0
// cortex and a neuron as separate processes: which neuron served, bad tokens and versions, a neuron killed mid-stream.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkLedgerIntegrity, jobs, openDatabase, usageRecords } from "@helexa/db";
import { PROTOCOL_VERSION } from "@helexa/protocol";
import { createOpenAIUpstreamRuntime } from "@helexa/runtime";
import OpenAI from "openai";
import WebSocket from "ws";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { seedFabric } from "./__fixtures__/seed-fabric.js";

const PRICES = { prompt: 40_000, completion: 90_000 };

describe("cortex and a neuron as separate processes", () => {
  let home: string;
  let modelPath: string;
  let cortex: HelexaProcess;
  let neuron: HelexaProcess;
  let orchestratorUrl: string;
  let gatewayUrl: string;
  let neuronApiUrl: string;
  let client: OpenAI;
  let fixture: {
    accountId: string;
    apiKey: string;
    neuronId: string;
    neuronToken: string;
    secondNeuronId: string;
    secondNeuronToken: string;
  };

  before(async () => {
    ({ home, modelPath } = await makeTestWorkspace());
    // The accounts, key, credits, catalog entry and neuron token an operator would have made in the portal.
    const seeded = await seedFabric({
      home,
      accountName: "operator and customer",
      neuronNames: ["e2e neuron", "second e2e neuron"],
      prices: PRICES,
      credits: 5_000_000,
    });
    const [first, second] = seeded.neurons;
    assert.ok(first && second);
    fixture = {
      accountId: seeded.accountId,
      apiKey: seeded.apiKey,
      neuronId: first.neuronId,
      neuronToken: first.token,
      secondNeuronId: second.neuronId,
      secondNeuronToken: second.token,
    };

    const [orchestrator, gateway] = await Promise.all([freePort(), freePort()]);
    cortex = new HelexaProcess([
      "cortex",
      "--home",
      home,
      "--orchestrator-socket",
      `127.0.0.1:${orchestrator}`,
      "--gateway-socket",
      `127.0.0.1:${gateway}`,
      "--ice-bind-address",
      "127.0.0.1",
    ]);
    const [, orchestratorMatch] = await cortex.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/);
    orchestratorUrl = orchestratorMatch ?? "";
    gatewayUrl = `http://127.0.0.1:${gateway}`;
    client = new OpenAI({ apiKey: fixture.apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
    neuron = await startNeuron(fixture.neuronToken);
    const [, api] = await neuron.waitForOutput(/api\s+(http:\/\/\S+)\/v1/);
    neuronApiUrl = api ?? "";
  });

  after(async () => {
    await neuron?.stop("SIGKILL");
    await cortex?.stop("SIGKILL");
  });

  async function startNeuron(token: string): Promise<HelexaProcess> {
    const [control, api] = await Promise.all([freePort(), freePort()]);
    const process = new HelexaProcess([
      "neuron",
      "--cortex",
      orchestratorUrl,
      "--token",
      token,
      "--name",
      "e2e neuron",
      "--model",
      modelPath,
      "--models-dir",
      join(home, "models"),
      "--control-socket",
      `127.0.0.1:${control}`,
      "--api-socket",
      `127.0.0.1:${api}`,
      "--threads",
      "1",
      "--ice-bind-address",
      "127.0.0.1",
    ]);
    return process;
  }

  async function neuronsOnline(): Promise<Array<{ id: string }>> {
    const health = (await (await fetch(`${orchestratorUrl.replace("ws:", "http:")}/health`)).json()) as {
      neurons: Array<{ id: string }>;
    };
    return health.neurons;
  }

  test("the neuron registers and serves the request; the response names it", async () => {
    await neuron.waitForOutput(/serving/);
    await waitUntil(async () => (await neuronsOnline()).length === 1, 10_000, "the neuron to register");
    const { data, response } = await client.chat.completions
      .create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 8,
        temperature: 0,
      })
      .withResponse();
    assert.equal(response.headers.get("x-helexa-neuron"), fixture.neuronId);
    assert.equal(data.usage?.completion_tokens, 8);
  });

  test("the upstream runtime serves the same text from the neuron's own OpenAI api socket", async () => {
    const upstream = await createOpenAIUpstreamRuntime({ baseUrl: neuronApiUrl });
    assert.deepEqual(
      upstream.models().map((model) => model.id),
      [TEST_MODEL_ID],
    );
    const request = {
      model: TEST_MODEL_ID,
      input: { kind: "chat" as const, messages: [{ role: "user" as const, content: "Say something." }] },
      sampling: { maxTokens: 16, temperature: 0 },
    };
    const viaUpstream = await upstream.doGenerate({ request });
    const viaGateway = await client.chat.completions.create({
      model: TEST_MODEL_ID,
      messages: [{ role: "user", content: "Say something." }],
      max_tokens: 16,
      temperature: 0,
    });
    assert.equal(viaUpstream.text, viaGateway.choices[0]?.message.content);
    assert.equal(viaUpstream.usage.completionTokens, viaGateway.usage?.completion_tokens);
    assert.equal(viaUpstream.usage.promptTokens, viaGateway.usage?.prompt_tokens);
    assert.equal(viaUpstream.finishReason, "length");
  });

  test("a bad neuron token is turned away with one clear line and exit code 1", async () => {
    await using rejected = await startNeuron("nt-hx-not-a-real-token-0000000000000000");
    const exit = await rejected.exited;
    assert.equal(exit.code, 1);
    assert.match(rejected.stderr, /helexa: the neuron token is not valid/);
  });

  test("a peer speaking another protocol version gets a typed error and is closed", async () => {
    const socket = new WebSocket(orchestratorUrl);
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(
      JSON.stringify({
        type: "hello",
        protocol: "helexa/0",
        role: "neuron",
        token: fixture.neuronToken,
        name: "old",
        software: "x",
      }),
    );
    const message = await new Promise<string>((resolve) =>
      socket.once("message", (data) => resolve(data.toString())),
    );
    const closed = await new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    const error = JSON.parse(message);
    assert.equal(error.type, "error");
    assert.equal(error.error.code, "protocol_version_unsupported");
    assert.match(error.error.message, new RegExp(PROTOCOL_VERSION));
    assert.equal(closed, 4000);
  });

  test("a neuron that stops answering leaves after three missed heartbeats and rejoins when it wakes", async () => {
    await using frozen = await startNeuron(fixture.secondNeuronToken);
    await frozen.waitForOutput(/serving/);
    const online = async () => (await neuronsOnline()).map((neuron) => neuron.id);
    await waitUntil(
      async () => (await online()).includes(fixture.secondNeuronId),
      10_000,
      "the second neuron",
    );
    frozen.child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    await waitUntil(
      async () => !(await online()).includes(fixture.secondNeuronId),
      25_000,
      "cortex to drop it",
    );
    const silentFor = Date.now() - stoppedAt;
    assert.ok(silentFor >= 9_000, `dropped after ${silentFor} ms: before two heartbeats were missed`);
    assert.ok((await online()).includes(fixture.neuronId), "the other neuron stays");
    frozen.child.kill("SIGCONT");
    await waitUntil(
      async () => (await online()).includes(fixture.secondNeuronId),
      20_000,
      "the neuron to rejoin",
    );
    await frozen.stop("SIGTERM");
    await waitUntil(async () => !(await online()).includes(fixture.secondNeuronId), 5_000, "a clean leave");
  });

  test("a neuron killed mid-stream ends the stream with a clear error and leaves the registry", async () => {
    const stream = await client.chat.completions.create({
      model: TEST_MODEL_ID,
      messages: [{ role: "user", content: "Keep talking." }],
      max_tokens: 1900,
      stream: true,
      stream_options: { include_usage: true },
    });
    let chunks = 0;
    await assert.rejects(
      async () => {
        for await (const _chunk of stream) {
          chunks += 1;
          if (chunks === 5) neuron.child.kill("SIGKILL");
        }
      },
      (error: unknown) => error instanceof OpenAI.APIError && /went away/.test(error.message),
    );
    await waitUntil(
      async () => (await neuronsOnline()).length === 0,
      5000,
      "the registry to drop the neuron",
    );
    await assert.rejects(
      client.chat.completions.create({ model: TEST_MODEL_ID, messages: [{ role: "user", content: "hi" }] }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 503,
    );
  });

  test("SIGTERM stops cortex cleanly; the killed job is charged only for what was delivered", async () => {
    const exit = await cortex.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, cortex.stderr.slice(-2000));
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
      const failed = (await database.db.select().from(jobs)).filter((job) => job.status === "failed");
      assert.equal(failed.length, 1);
      const [usage] = (await database.db.select().from(usageRecords)).filter(
        (row) => row.jobId === failed[0]?.id,
      );
      assert.ok(usage);
      assert.ok(usage.completionTokens > 0 && usage.completionTokens < 1900);
      assert.equal(usage.cost, Math.ceil((usage.completionTokens * PRICES.completion) / 1e6));
      assert.equal(usage.neuronId, fixture.neuronId);
    } finally {
      await database.close();
    }
  });
});

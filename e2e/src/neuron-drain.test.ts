// SPDX-License-Identifier: PolyForm-Shield-1.0
// A neuron told to stop (SIGTERM) drains: its stream ends whole, new requests go elsewhere, it exits 0; request ids reach its logs.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkLedgerIntegrity, jobs, openDatabase } from "@helexa/db";
import OpenAI from "openai";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { seedFabric } from "./__fixtures__/seed-fabric.js";

interface OnlineNeuron {
  id: string;
  ready: boolean;
  draining: boolean;
}

describe("a neuron that gets SIGTERM drains before it exits", () => {
  let home: string;
  let modelPath: string;
  let cortex: HelexaProcess;
  let orchestratorUrl: string;
  let client: OpenAI;
  const neurons = new Map<string, HelexaProcess>();
  let fixture: { apiKey: string; neuronIds: [string, string]; tokens: [string, string] };

  before(async () => {
    // The larger generated model: slow enough on one thread that a long reply is still streaming
    // while the test checks where the next request goes.
    ({ home, modelPath } = await makeTestWorkspace({ preset: "bench" }));
    const seeded = await seedFabric({
      home,
      accountName: "drain e2e",
      neuronNames: ["first", "second"],
      prices: { prompt: 40_000, completion: 90_000 },
      credits: 5_000_000,
    });
    const [first, second] = seeded.neurons;
    assert.ok(first && second);
    fixture = {
      apiKey: seeded.apiKey,
      neuronIds: [first.neuronId, second.neuronId],
      tokens: [first.token, second.token],
    };

    const [orchestrator, gateway] = await Promise.all([freePort(), freePort()]);
    cortex = new HelexaProcess([
      "cortex",
      ...["--home", home, "--ice-bind-address", "127.0.0.1"],
      ...["--orchestrator-socket", `127.0.0.1:${orchestrator}`, "--gateway-socket", `127.0.0.1:${gateway}`],
    ]);
    const [, orchestratorMatch] = await cortex.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/);
    orchestratorUrl = orchestratorMatch ?? "";
    client = new OpenAI({
      apiKey: fixture.apiKey,
      baseURL: `http://127.0.0.1:${gateway}/v1`,
      maxRetries: 0,
    });
    for (const [index, token] of fixture.tokens.entries()) {
      const [control, api] = await Promise.all([freePort(), freePort()]);
      const neuron = new HelexaProcess(
        [
          "neuron",
          ...["--cortex", orchestratorUrl, "--token", token, "--name", `drain e2e ${index}`],
          ...["--model", modelPath, "--models-dir", join(home, "models"), "--threads", "1", "--gpu", "off"],
          // Two slots: the draining neuron has a free one, which placement must still leave alone.
          ...["--slots", "2"],
          ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
          ...["--ice-bind-address", "127.0.0.1"],
        ],
        // Its job lines are at info level, one JSON object per line on stderr.
        { HELEXA_LOG_LEVEL: "info", HELEXA_LOG_JSON: "true" },
      );
      neurons.set(fixture.neuronIds[index] ?? "", neuron);
    }
    for (const neuron of neurons.values()) await neuron.waitForOutput(/ serving /);
    await waitUntil(
      async () => (await online()).filter((neuron) => neuron.ready).length === 2,
      15_000,
      "both neurons to register",
    );
  });

  after(async () => {
    for (const neuron of neurons.values()) await neuron.stop("SIGKILL");
    await cortex?.stop("SIGKILL");
  });

  async function online(): Promise<OnlineNeuron[]> {
    const health = (await (await fetch(`${orchestratorUrl.replace("ws:", "http:")}/health`)).json()) as {
      neurons: OnlineNeuron[];
    };
    return health.neurons;
  }

  function logLines(neuron: HelexaProcess): Array<Record<string, unknown>> {
    return neuron.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  function neuronOf(response: Response): { id: string; process: HelexaProcess } {
    const id = response.headers.get("x-helexa-neuron") ?? "";
    const process = neurons.get(id);
    assert.ok(process, `the response names a neuron of this test (${id})`);
    return { id, process };
  }

  test("the request id comes back as x-request-id and is on the neuron's job.started and job.finished lines", async () => {
    const requestId = "e2e-drain-request-id-1";
    const { data, response } = await client.chat.completions
      .create(
        { model: TEST_MODEL_ID, messages: [{ role: "user", content: "hello" }], max_tokens: 4 },
        { headers: { "x-request-id": requestId } },
      )
      .withResponse();
    assert.equal(data.usage?.completion_tokens, 4);
    assert.equal(response.headers.get("x-request-id"), requestId);
    const jobId = response.headers.get("x-helexa-job");
    const { process } = neuronOf(response);
    const line = (event: string) =>
      logLines(process).find((entry) => entry.event === event && entry.requestId === requestId);
    await waitUntil(() => line("job.finished") !== undefined, 5000, "the neuron's job.finished line");
    assert.equal(line("job.started")?.jobId, jobId);
    assert.equal(line("job.finished")?.jobId, jobId);
    assert.equal(line("job.finished")?.status, "completed");
    assert.equal(line("job.finished")?.tokens, 4);
  });

  test("SIGTERM mid-stream: the reply ends whole, new requests go elsewhere (then 503), the neuron exits 0", async () => {
    const requestId = "e2e-drain-long-reply";
    const { data: stream, response } = await client.chat.completions
      .create(
        {
          model: TEST_MODEL_ID,
          messages: [{ role: "user", content: "Keep talking." }],
          max_tokens: 1000,
          stream: true,
          stream_options: { include_usage: true },
        },
        { headers: { "x-request-id": requestId } },
      )
      .withResponse();
    const draining = neuronOf(response);
    const otherId = fixture.neuronIds.find((id) => id !== draining.id) ?? "";
    const other = neurons.get(otherId);
    assert.ok(other);

    let chunks = 0;
    let finishReason: string | null = null;
    let completionTokens = 0;
    let streamEnded = false;
    let signalled: () => void = () => {};
    const fewChunksIn = new Promise<void>((resolve) => {
      signalled = resolve;
    });
    const reading = (async () => {
      for await (const chunk of stream) {
        chunks += 1;
        if (chunks === 5) signalled();
        finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
        if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      }
      streamEnded = true;
    })();
    reading.catch(() => signalled());

    await fewChunksIn;
    draining.process.child.kill("SIGTERM");
    await waitUntil(
      async () => (await online()).some((neuron) => neuron.id === draining.id && neuron.draining),
      5000,
      "cortex to mark the neuron draining",
    );
    assert.equal(streamEnded, false, "the long reply is still streaming while the neuron drains");

    // With another neuron online, new requests go there, even three at once for its two slots
    // (the third waits for one of them rather than taking the draining neuron's free slot).
    const next = await Promise.all(
      [1, 2, 3].map(() =>
        client.chat.completions
          .create({ model: TEST_MODEL_ID, messages: [{ role: "user", content: "hi" }], max_tokens: 4 })
          .withResponse(),
      ),
    );
    for (const { response: placed } of next) assert.equal(placed.headers.get("x-helexa-neuron"), otherId);

    // An idle neuron drains at once and exits 0.
    assert.deepEqual(await other.stop("SIGTERM"), { code: 0, signal: null }, other.stderr.slice(-2000));
    await waitUntil(
      async () => !(await online()).some((neuron) => neuron.id === otherId),
      5000,
      "the second neuron to leave",
    );
    // With only the draining neuron left, nothing serves the model for new requests: 503 at once.
    assert.equal(streamEnded, false, "the long reply is still streaming");
    await assert.rejects(
      client.chat.completions.create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 4,
      }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 503,
    );

    await reading;
    assert.ok(finishReason === "length" || finishReason === "stop", `finish_reason ${finishReason}`);
    assert.ok(completionTokens > 0);
    const exit = await draining.process.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, draining.process.stderr.slice(-2000));
    const lines = logLines(draining.process);
    const finished = lines.find((line) => line.event === "job.finished" && line.requestId === requestId);
    assert.equal(finished?.status, "completed");
    assert.equal(finished?.tokens, completionTokens);
    assert.equal(lines.find((line) => line.event === "neuron.drained")?.drained, true);
    await waitUntil(async () => (await online()).length === 0, 5000, "the drained neuron to leave");
  });

  test("every job settled as completed, and the ledger balances", async () => {
    const exit = await cortex.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, cortex.stderr.slice(-2000));
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
      const rows = await database.db.select().from(jobs);
      assert.deepEqual(
        rows.map((row) => row.status).sort(),
        ["completed", "completed", "completed", "completed", "completed"],
        "the short request, the long reply and the three sent while draining; the 503 never became a job",
      );
    } finally {
      await database.close();
    }
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Three native neurons; the one streaming a reply is killed, twice: the stream goes on with the text one neuron gives, billed once.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkLedgerIntegrity, jobs, ledgerEntries, ledgerTransactions, openDatabase } from "@helexa/db";
import OpenAI from "openai";
import type { ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { seedFabric } from "./__fixtures__/seed-fabric.js";

const request = {
  model: TEST_MODEL_ID,
  messages: [{ role: "user" as const, content: "Tell me everything about the fabric." }],
  temperature: 0,
  seed: 11,
  // Long enough that the neuron is still generating at each kill, however far the reader lags behind it.
  max_tokens: 1200,
};

describe("a neuron killed mid-stream: the job resumes on another", () => {
  let home: string;
  let cortex: HelexaProcess;
  let orchestratorUrl: string;
  let metricsUrl: string;
  let client: OpenAI;
  const neurons = new Map<string, HelexaProcess>();
  const operatorOf = new Map<string, string>();
  let reference: { text: string; completionTokens: number; promptTokens: number; jobId: string };
  const failoverJobs = { whole: "", cut: "", cutText: "" };

  before(async () => {
    // The larger generated model, on one thread: a 1200-token reply streams long enough to kill its neuron.
    const workspace = await makeTestWorkspace({ preset: "bench" });
    home = workspace.home;
    const seeded = await seedFabric({
      home,
      accountName: "failover e2e",
      neuronNames: ["first", "second", "third"],
      prices: { prompt: 40_000, completion: 90_000 },
      credits: 50_000_000,
      operatorPerNeuron: true,
    });
    const [orchestrator, gateway] = await Promise.all([freePort(), freePort()]);
    cortex = new HelexaProcess(
      [
        "cortex",
        ...["--home", home, "--ice-bind-address", "127.0.0.1"],
        ...["--orchestrator-socket", `127.0.0.1:${orchestrator}`, "--gateway-socket", `127.0.0.1:${gateway}`],
      ],
      { HELEXA_LOG_JSON: "true", HELEXA_LOG_LEVEL: "info" },
    );
    const [, orchestratorMatch] = await cortex.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/);
    orchestratorUrl = orchestratorMatch ?? "";
    metricsUrl = `${orchestratorUrl.replace("ws:", "http:")}/metrics`;
    client = new OpenAI({ apiKey: seeded.apiKey, baseURL: `http://127.0.0.1:${gateway}/v1`, maxRetries: 0 });
    for (const [index, neuron] of seeded.neurons.entries()) {
      const [control, api] = await Promise.all([freePort(), freePort()]);
      operatorOf.set(neuron.neuronId, neuron.operatorAccountId);
      neurons.set(
        neuron.neuronId,
        new HelexaProcess([
          "neuron",
          ...["--cortex", orchestratorUrl, "--token", neuron.token, "--name", `failover e2e ${index}`],
          ...["--model", workspace.modelPath, "--models-dir", join(home, "models")],
          ...["--threads", "1", "--gpu", "off"],
          ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
          ...["--ice-bind-address", "127.0.0.1"],
        ]),
      );
    }
    for (const neuron of neurons.values()) await neuron.waitForOutput(/ serving /);
    await waitUntil(async () => (await online()) === 3, 15_000, "three neurons to register");
  });

  after(async () => {
    for (const neuron of neurons.values()) await neuron.stop("SIGKILL");
    await cortex?.stop("SIGKILL");
  });

  async function online(): Promise<number> {
    const health = (await (await fetch(`${orchestratorUrl.replace("ws:", "http:")}/health`)).json()) as {
      neurons: Array<{ ready: boolean }>;
    };
    return health.neurons.filter((neuron) => neuron.ready).length;
  }

  /** cortex's job.failover log lines for a job: where it moved, from where. */
  function failoversOf(jobId: string): Array<{ from: string; to: string; resumedTokens: number }> {
    return cortex.stderr
      .split("\n")
      .filter((line) => line.startsWith("{") && line.includes('"job.failover"'))
      .map((line) => JSON.parse(line) as { jobId: string; from: string; to: string; resumedTokens: number })
      .filter((line) => line.jobId === jobId);
  }

  async function kill(neuronId: string): Promise<void> {
    const process = neurons.get(neuronId);
    assert.ok(process, `neuron ${neuronId} is one of this test's`);
    await process.stop("SIGKILL");
  }

  test("one neuron's whole reply, as the reference", async () => {
    const { data, response } = await client.chat.completions.create(request).withResponse();
    assert.equal(data.choices[0]?.finish_reason, "length", "the reply runs to max_tokens");
    reference = {
      text: data.choices[0]?.message.content ?? "",
      completionTokens: data.usage?.completion_tokens ?? 0,
      promptTokens: data.usage?.prompt_tokens ?? 0,
      jobId: response.headers.get("x-helexa-job") ?? "",
    };
    assert.equal(reference.completionTokens, 1200);
  });

  test("SIGKILL the streaming neuron, then the one that took over: the stream ends whole, the same text, usage once", async (t) => {
    const params: ChatCompletionCreateParamsStreaming = {
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    };
    const { data: stream, response } = await client.chat.completions.create(params).withResponse();
    const jobId = response.headers.get("x-helexa-job") ?? "";
    failoverJobs.whole = jobId;
    let serving = response.headers.get("x-helexa-neuron") ?? "";
    let text = "";
    let chunks = 0;
    let kills = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let finishReason: string | null | undefined;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content ?? "";
      text += content;
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) usage = chunk.usage;
      if (content) chunks++;
      if (kills < 2 && chunks === 40 + kills * 60) {
        await kill(serving);
        kills++;
        if (kills === 1) {
          // Where the job went is in cortex's log; the next kill is for that neuron.
          await waitUntil(() => failoversOf(jobId).length === 1, 10_000, "the job to move");
          serving = failoversOf(jobId)[0]?.to ?? "";
        }
      }
    }
    assert.equal(kills, 2, "both neurons were killed while the reply streamed");
    const moves = failoversOf(jobId);
    assert.equal(moves.length, 2, JSON.stringify(moves));
    assert.ok(
      moves.every((move) => move.resumedTokens > 0),
      "each move resumed from the tokens delivered",
    );
    assert.equal(new Set([moves[0]?.from, moves[0]?.to, moves[1]?.to]).size, 3, "three neurons served it");
    assert.equal(text, reference.text, "no gap and no repeated text");
    // How long the stream stood still at each move, as cortex saw it (a figure, not a pass mark).
    const resumed = cortex.stderr
      .split("\n")
      .filter((line) => line.startsWith("{") && line.includes('"job.resumed"') && line.includes(jobId));
    for (const line of resumed) {
      const { msSinceLastText, msSinceMove } = JSON.parse(line) as Record<string, number>;
      t.diagnostic(`failover: ${msSinceLastText} ms between texts, ${msSinceMove} ms from the move`);
    }
    assert.equal(resumed.length, 2);
    assert.equal(finishReason, "length");
    assert.equal(usage?.completion_tokens, reference.completionTokens);
    assert.equal(usage?.prompt_tokens, reference.promptTokens);
  });

  test("the last neuron killed mid-stream: a clear error event, and only the delivered tokens are charged", async () => {
    assert.equal(await online(), 1);
    const params: ChatCompletionCreateParamsStreaming = { ...request, max_tokens: 2000, stream: true };
    const { data: stream, response } = await client.chat.completions.create(params).withResponse();
    failoverJobs.cut = response.headers.get("x-helexa-job") ?? "";
    const serving = response.headers.get("x-helexa-neuron") ?? "";
    let chunks = 0;
    let cutText = "";
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          const content = chunk.choices[0]?.delta.content;
          if (!content) continue; // the first chunk says the role only
          cutText += content;
          if (++chunks === 30) await kill(serving);
        }
      })(),
      (error: Error) => {
        assert.match(error.message, /no other neuron serving .* can continue the job/);
        return true;
      },
    );
    assert.ok(chunks >= 30);
    failoverJobs.cutText = cutText;
  });

  test("/metrics counts the failovers; the ledger charged each token once and paid each operator its part", async () => {
    const metrics = await (await fetch(metricsUrl)).text();
    assert.match(metrics, new RegExp(`helexa_failovers_total\\{model="${TEST_MODEL_ID}"\\} 2\\b`));
    const exit = await cortex.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, cortex.stderr.slice(-2000));
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
      const allJobs = await database.db.select().from(jobs);
      const job = (id: string) => allJobs.find((row) => row.id === id);
      const whole = job(failoverJobs.whole);
      const alone = job(reference.jobId);
      assert.equal(whole?.status, "completed");
      assert.equal(whole?.completionTokens, reference.completionTokens);
      assert.equal(whole?.cost, alone?.cost, "the moved job cost what the same reply from one neuron cost");

      const transaction = (await database.db.select().from(ledgerTransactions)).find(
        (row) => row.jobId === failoverJobs.whole,
      );
      const entries = (await database.db.select().from(ledgerEntries)).filter(
        (row) => row.transactionId === transaction?.id,
      );
      // The customer, three operators (each earned for the tokens its neuron generated) and the platform.
      assert.equal(entries.length, 5, JSON.stringify(entries));
      assert.equal(
        entries.filter((entry) => entry.amount > 0).length,
        4,
        "every operator and the platform were paid",
      );

      const cut = job(failoverJobs.cut);
      assert.equal(cut?.status, "failed");
      assert.ok(cut && cut.completionTokens >= 30 && cut.completionTokens < 2000, `${cut?.completionTokens}`);
      const common = Math.min(reference.text.length, failoverJobs.cutText.length);
      assert.equal(
        failoverJobs.cutText.slice(0, common),
        reference.text.slice(0, common),
        "the cut reply is the same greedy text, as far as it went",
      );
      assert.equal(
        cut?.cost,
        Math.ceil(((cut?.completionTokens ?? 0) * 90_000) / 1_000_000),
        "only the delivered completion tokens, and no prompt",
      );
    } finally {
      await database.close();
    }
  });
});

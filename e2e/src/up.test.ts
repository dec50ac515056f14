// SPDX-License-Identifier: PolyForm-Shield-1.0
// End to end through `helexa up`: the openai SDK, the gateway, WebRTC, a neuron, and the ledger afterwards.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { checkLedgerIntegrity, Ledger, openDatabase, usageRecords } from "@helexa/db";
import type { GenerationRequest } from "@helexa/protocol";
import type { LanguageModelRuntime } from "@helexa/runtime";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import OpenAI from "openai";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { type HelexaProcess, startUp, waitUntil } from "./__fixtures__/helexa-process.js";

const INITIAL_CREDITS = 10_000_000;
const PRICES = { prompt: 50_000, completion: 100_000 };

describe("helexa up", () => {
  let fabric: HelexaProcess;
  let home: string;
  let gatewayUrl: string;
  let controlUrl: string;
  let apiKey: string;
  let client: OpenAI;
  let direct: LanguageModelRuntime;
  /** Usage the client saw for each job it completed, to check against the ledger at the end. */
  const billed: Array<{ promptTokens: number; completionTokens: number }> = [];

  before(async () => {
    const workspace = await makeTestWorkspace();
    home = workspace.home;
    ({ fabric, gatewayUrl, controlUrl, apiKey } = await startUp({ home, modelPath: workspace.modelPath }));
    client = new OpenAI({ apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
    direct = await createLlamaCppRuntime({
      models: [{ id: TEST_MODEL_ID, path: workspace.modelPath }],
      threads: 1,
    });
  });

  after(async () => {
    await direct?.[Symbol.asyncDispose]();
    await fabric?.stop("SIGKILL");
  });

  const chatRequest = (sampling: GenerationRequest["sampling"]): GenerationRequest => ({
    model: TEST_MODEL_ID,
    input: {
      kind: "chat",
      messages: [
        { role: "system", content: "You are a terse assistant." },
        { role: "user", content: "What does a distributed fabric do?" },
      ],
    },
    sampling,
  });

  async function streamChat(sampling: {
    max_tokens: number;
    temperature: number;
    seed?: number;
    top_p?: number;
  }) {
    const stream = await client.chat.completions.create({
      model: TEST_MODEL_ID,
      messages: [
        { role: "system", content: "You are a terse assistant." },
        { role: "user", content: "What does a distributed fabric do?" },
      ],
      stream: true,
      stream_options: { include_usage: true },
      ...sampling,
    });
    let text = "";
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    let finishReason: string | null = null;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? "";
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) usage = chunk.usage;
    }
    return { text, chunks, usage, finishReason };
  }

  test("the openai SDK streams a chat completion equal to the runtime's own, with exact usage", async () => {
    const streamed = await streamChat({ max_tokens: 32, temperature: 0 });
    const expected = await direct.doGenerate({ request: chatRequest({ maxTokens: 32, temperature: 0 }) });
    assert.equal(streamed.text, expected.text);
    assert.ok(streamed.text.length > 0);
    assert.ok(streamed.chunks > 3, "tokens arrive as several chunks");
    assert.equal(streamed.finishReason, "length");
    assert.deepEqual(streamed.usage, {
      prompt_tokens: expected.usage.promptTokens,
      completion_tokens: expected.usage.completionTokens,
      total_tokens: expected.usage.promptTokens + expected.usage.completionTokens,
    });
    billed.push(expected.usage);
  });

  test("a seeded sampled completion is the same through the fabric as direct", async () => {
    const sampling = { max_tokens: 24, temperature: 0.9, top_p: 0.95, seed: 1234 };
    const streamed = await streamChat(sampling);
    const expected = await direct.doGenerate({
      request: chatRequest({ maxTokens: 24, temperature: 0.9, topP: 0.95, seed: 1234 }),
    });
    assert.equal(streamed.text, expected.text);
    billed.push(expected.usage);
  });

  test("/v1/completions without streaming, and stop sequences", async () => {
    const completion = await client.completions.create({
      model: TEST_MODEL_ID,
      prompt: "The fabric",
      max_tokens: 20,
      temperature: 0,
    });
    const expected = await direct.doGenerate({
      request: {
        model: TEST_MODEL_ID,
        input: { kind: "text", prompt: "The fabric" },
        sampling: { maxTokens: 20, temperature: 0 },
      },
    });
    assert.equal(completion.choices[0]?.text, expected.text);
    assert.equal(completion.usage?.completion_tokens, expected.usage.completionTokens);
    billed.push(expected.usage);

    const stop = expected.text.slice(6, 9);
    const stopped = await client.completions.create({
      model: TEST_MODEL_ID,
      prompt: "The fabric",
      max_tokens: 20,
      temperature: 0,
      stop: [stop],
    });
    assert.equal(stopped.choices[0]?.finish_reason, "stop");
    assert.equal(stopped.choices[0]?.text, expected.text.slice(0, expected.text.indexOf(stop)));
    const usage = stopped.usage;
    assert.ok(usage);
    billed.push({ promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens });
  });

  test("GET /v1/models lists the served model", async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((model) => model.id),
      [TEST_MODEL_ID],
    );
  });

  test("errors come in OpenAI's envelope with the right status", async () => {
    const post = (body: string, headers: Record<string, string> = { authorization: `Bearer ${apiKey}` }) =>
      fetch(`${gatewayUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    const valid = JSON.stringify({
      model: TEST_MODEL_ID,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });

    const noKey = await post(valid, {});
    assert.equal(noKey.status, 401);
    const noKeyBody = (await noKey.json()) as { error: Record<string, unknown> };
    assert.equal(noKeyBody.error.code, "invalid_api_key");
    assert.equal(typeof noKeyBody.error.message, "string");
    assert.ok("param" in noKeyBody.error && "type" in noKeyBody.error);

    await assert.rejects(
      new OpenAI({
        apiKey: "sk-hx-not-a-real-key",
        baseURL: `${gatewayUrl}/v1`,
        maxRetries: 0,
      }).chat.completions.create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hi" }],
      }),
      (error: unknown) => error instanceof OpenAI.AuthenticationError && error.status === 401,
    );

    await assert.rejects(
      client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }),
      (error: unknown) =>
        error instanceof OpenAI.NotFoundError && error.code === "model_not_found" && error.param === "model",
    );

    const malformed = await post("{not json");
    assert.equal(malformed.status, 400);
    assert.equal(
      ((await malformed.json()) as { error: { type: string } }).error.type,
      "invalid_request_error",
    );

    await assert.rejects(
      client.chat.completions.create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hi" }],
        temperature: 5,
      }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "temperature",
    );
    await assert.rejects(
      client.chat.completions.create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hi" }],
        n: 2,
      }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "n",
    );
    await assert.rejects(
      client.chat.completions.create({ model: TEST_MODEL_ID, messages: [] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "messages",
    );
  });

  test("a client that disconnects cancels the job on the neuron", async () => {
    const status = async () =>
      (await (await fetch(`${controlUrl}/status`)).json()) as { activeJobs: number; tokensServed: number };
    const before = await status();
    const abort = new AbortController();
    const stream = await client.chat.completions.create(
      {
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "Go on for a long time." }],
        max_tokens: 1900,
        stream: true,
      },
      { signal: abort.signal },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        chunks += 1;
        if (chunks === 3) abort.abort();
      }
    } catch {
      // The SDK may end the iteration or throw once aborted; either way the client is gone.
    }
    assert.ok(chunks >= 3);
    await waitUntil(
      async () => (await status()).activeJobs === 0,
      5000,
      "the neuron to drop the cancelled job",
    );
    const afterCancel = await status();
    assert.ok(
      afterCancel.tokensServed - before.tokensServed < 1900,
      `the neuron stopped early (${afterCancel.tokensServed - before.tokensServed} tokens)`,
    );
  });

  test("SIGINT shuts helexa up down cleanly, and the ledger and usage rows are exact", async () => {
    const exit = await fabric.stop("SIGINT");
    assert.deepEqual(exit, { code: 0, signal: null }, fabric.stderr.slice(-2000));
    // The neuron ran in a child process: it is gone too, not orphaned.
    await assert.rejects(fetch(`${controlUrl}/health`));

    const credentials = JSON.parse(await readFile(join(home, "credentials.json"), "utf8"));
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
      const rows = await database.db.select().from(usageRecords);
      for (const usage of billed) {
        const row = rows.find(
          (candidate) =>
            candidate.promptTokens === usage.promptTokens &&
            candidate.completionTokens === usage.completionTokens,
        );
        assert.ok(row, `a usage row for ${JSON.stringify(usage)} in ${JSON.stringify(rows)}`);
        assert.equal(row.accountId, credentials.accountId);
        assert.equal(row.model, TEST_MODEL_ID);
        assert.ok(row.apiKeyId && row.neuronId);
        const expectedCost = Math.ceil(
          (usage.promptTokens * PRICES.prompt + usage.completionTokens * PRICES.completion) / 1e6,
        );
        assert.equal(row.cost, expectedCost);
      }
      const ledger = new Ledger({ db: database.db });
      const balance = await ledger.getBalance(credentials.accountId);
      const spent = rows.reduce((sum, row) => sum + row.cost, 0);
      assert.equal(balance.balance, INITIAL_CREDITS - spent);
      assert.equal(balance.held, 0);
      const earned = await ledger.getBalance(credentials.accountId, { kind: "operator_earnings" });
      assert.equal(
        earned.balance,
        rows.reduce((sum, row) => sum + Math.floor(row.cost * 0.7), 0),
      );
      await ledger.close();
    } finally {
      await database.close();
    }
  });
});

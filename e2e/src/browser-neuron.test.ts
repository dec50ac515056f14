// SPDX-License-Identifier: PolyForm-Shield-1.0
// A Chromium tab becomes a neuron: a donation token, the model file from cortex, wllama in the page, WebRTC to cortex, limits, and gone as the page closes.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { browserBundleDirectory } from "@helexa/browser-neuron/bundle";
import {
  checkLedgerIntegrity,
  jobs,
  ledgerAccounts,
  ledgerEntries,
  ledgerTransactions,
  openDatabase,
} from "@helexa/db";
import { build } from "esbuild";
import OpenAI from "openai";
import type { Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "./__fixtures__/chromium.js";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { seedFabric } from "./__fixtures__/seed-fabric.js";

/** The tab's limit: prompt plus completion tokens of one job. */
const TAB_MAX_JOB_TOKENS = 256;
/** Micro-credits per million tokens of the test model. */
const PRICES = { prompt: 40_000, completion: 90_000 };
/** The request the tab serves first, and the native neuron again, to compare their usage. */
const greeting = {
  model: TEST_MODEL_ID,
  messages: [{ role: "user" as const, content: "hello from the e2e test" }],
  max_tokens: 24,
  temperature: 0,
};

/**
 * What the /donate page will do, bundled for the browser by esbuild here: @helexa/browser-neuron's
 * engine loads the generated model in a worker (wllama, one thread), from cortex's own model-file route,
 * and its link makes the tab a neuron serving it.
 */
const tabEntry = `
import { createEngineClient, startBrowserNeuron } from "@helexa/browser-neuron";
window.startTab = async (config) => {
  const engine = createEngineClient({ workerUrl: "/browser/engine-worker.js" });
  const ready = await engine.load(config.model, { preferences: { engine: "wllama", threads: 1 } });
  const neuron = startBrowserNeuron({
    cortexUrl: config.cortexUrl,
    token: config.token,
    name: "e2e tab",
    runtime: engine,
    limits: { maxJobTokens: config.maxJobTokens },
  });
  window.neuron = neuron;
  await neuron.ready;
  return { neuronId: neuron.neuronId, engine: ready.engine, contextLength: ready.model.contextLength };
};
`;

const contentTypes: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json",
};

interface HealthNeuron {
  id: string;
  ready: boolean;
  draining: boolean;
}

describe("a browser tab as a neuron", { skip: chromiumMissing() }, () => {
  let home: string;
  let modelPath: string;
  let modelSha256: string;
  let modelSize: number;
  let cortex: HelexaProcess;
  let native: HelexaProcess | null = null;
  let nativeApiUrl: string;
  let orchestratorUrl: string;
  let gatewayUrl: string;
  let portalUrl: string;
  let pageServer: Server;
  let pageUrl: string;
  /** What the page fetched from cortex's model-file route, through the page's origin. */
  const modelRequests: Array<{ method: string; range: string | null; status: number }> = [];
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let client: OpenAI;
  let nativeToken: { neuronId: string; token: string };
  let tabNeuronId: string;
  let tabAnswer: { usage: OpenAI.CompletionUsage | null; finishReason: string | null };

  before(async () => {
    ({ home, modelPath } = await makeTestWorkspace());
    // The catalog knows the model's file; cortex's models dir has it already, as `helexa up` leaves it.
    const modelBytes = await readFile(modelPath);
    modelSha256 = createHash("sha256").update(modelBytes).digest("hex");
    modelSize = modelBytes.length;
    await mkdir(join(home, "models"), { recursive: true });
    await copyFile(modelPath, join(home, "models", `${TEST_MODEL_ID}.gguf`));
    const seeded = await seedFabric({
      home,
      accountName: "customer",
      neuronNames: ["native e2e neuron"],
      prices: PRICES,
      modelFile: {
        sourceUrl: `https://models.invalid/${TEST_MODEL_ID}.gguf`,
        sha256: modelSha256,
        sizeBytes: modelSize,
      },
      credits: 5_000_000,
    });
    nativeToken = seeded.neurons[0]!;

    const [orchestrator, gateway, portal] = await Promise.all([freePort(), freePort(), freePort()]);
    cortex = new HelexaProcess(
      [
        "cortex",
        ...["--home", home, "--ice-bind-address", "127.0.0.1"],
        ...["--orchestrator-socket", `127.0.0.1:${orchestrator}`, "--gateway-socket", `127.0.0.1:${gateway}`],
        ...["--portal-socket", `127.0.0.1:${portal}`],
      ],
      { HELEXA_PORTAL_AUTH_SECRET: "e2e-browser-neuron-secret-of-32-characters-at-least" },
    );
    const [, orchestratorMatch] = await cortex.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/);
    orchestratorUrl = orchestratorMatch ?? "";
    gatewayUrl = `http://127.0.0.1:${gateway}`;
    portalUrl = `http://127.0.0.1:${portal}`;
    client = new OpenAI({ apiKey: seeded.apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });

    // The engine's worker and wllama's WebAssembly, as its package builds them for a page to serve.
    const buildScript = join(browserBundleDirectory, "..", "..", "scripts", "build-browser-bundles.mjs");
    await promisify(execFile)(process.execPath, [buildScript]);
    const bundled = await build({
      stdin: { contents: tabEntry, resolveDir: fileURLToPath(new URL(".", import.meta.url)), loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const script = bundled.outputFiles[0]!.contents;
    // The page's origin stands in for the portal's: the page, the engine's files, and /models/ passed to cortex.
    pageServer = createServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://page.invalid").pathname;
      if (path === "/tab.js") {
        response.writeHead(200, { "content-type": "text/javascript" }).end(script);
      } else if (path.startsWith("/browser/")) {
        const file = normalize(join(browserBundleDirectory, path.slice("/browser/".length)));
        readFile(file).then(
          (body) =>
            response
              .writeHead(200, { "content-type": contentTypes[extname(file)] ?? "application/octet-stream" })
              .end(body),
          () => response.writeHead(404).end(),
        );
      } else if (path.startsWith("/models/")) {
        const headers: Record<string, string> = {};
        for (const name of ["range", "if-range", "if-none-match"]) {
          const value = request.headers[name];
          if (typeof value === "string") headers[name] = value;
        }
        fetch(`${portalUrl}${request.url}`, { method: request.method ?? "GET", headers }).then(
          (upstream) => {
            modelRequests.push({
              method: request.method ?? "GET",
              range: headers.range ?? null,
              status: upstream.status,
            });
            response.writeHead(upstream.status, Object.fromEntries(upstream.headers));
            if (upstream.body) Readable.fromWeb(upstream.body as never).pipe(response);
            else response.end();
          },
          () => response.writeHead(502).end(),
        );
      } else {
        response
          .writeHead(200, { "content-type": "text/html" })
          .end('<!doctype html><title>donate</title><script type="module" src="/tab.js"></script>');
      }
    });
    pageServer.listen(0, "127.0.0.1");
    await once(pageServer, "listening");
    pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`;
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.[Symbol.asyncDispose]();
    pageServer?.closeAllConnections();
    pageServer?.close();
    await native?.stop("SIGKILL");
    await cortex?.stop("SIGINT");
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
    } finally {
      await database.close();
    }
  });

  async function neuronsOnline(): Promise<HealthNeuron[]> {
    const response = await fetch(`${orchestratorUrl.replace("ws:", "http:")}/health`);
    return ((await response.json()) as { neurons: HealthNeuron[] }).neurons;
  }

  test("an anonymous visitor's tab loads the model from cortex and registers over WebRTC", async () => {
    // As the /donate page asks for it: tRPC over HTTP, no session.
    const response = await fetch(`${portalUrl}/api/trpc/donate.neuronToken`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ json: {} }),
    });
    assert.equal(response.status, 200);
    const donation = ((await response.json()) as { result: { data: { json: Record<string, unknown> } } })
      .result.data.json as { token: string; neuronId: string; anonymous: boolean; cortexUrl: string };
    assert.equal(donation.anonymous, true);
    assert.equal(donation.cortexUrl, orchestratorUrl);

    await page.goto(pageUrl);
    const startedAt = performance.now();
    const started = await page.evaluate(
      (config) =>
        (globalThis as unknown as { startTab(c: unknown): Promise<Record<string, unknown>> }).startTab(
          config,
        ),
      {
        cortexUrl: donation.cortexUrl,
        token: donation.token,
        model: {
          id: TEST_MODEL_ID,
          url: `/models/${TEST_MODEL_ID}/file`,
          sha256: modelSha256,
          sizeBytes: modelSize,
          contextLength: 2048,
        },
        maxJobTokens: TAB_MAX_JOB_TOKENS,
      },
    );
    tabNeuronId = started.neuronId as string;
    assert.equal(tabNeuronId, donation.neuronId);
    assert.equal(started.engine, "wllama");
    assert.ok(
      modelRequests.some((request) => request.method === "GET" && [200, 206].includes(request.status)),
      `the engine fetched the model file from cortex: ${JSON.stringify(modelRequests)}`,
    );
    await waitUntil(
      async () => (await neuronsOnline()).some((neuron) => neuron.id === tabNeuronId && neuron.ready),
      10_000,
      "the tab to show up in the registry",
    );
    console.log(
      `tab loaded the model, measured itself and registered in ${Math.round(performance.now() - startedAt)} ms`,
    );
  });

  test("the tab serves a request from the openai SDK: its neuron in the header, tokens streamed", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ ...greeting, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(response.headers.get("x-helexa-neuron"), tabNeuronId);
    const pieces: string[] = [];
    tabAnswer = { usage: null, finishReason: null };
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) pieces.push(choice.delta.content);
      if (choice?.finish_reason) tabAnswer.finishReason = choice.finish_reason;
      if (chunk.usage) tabAnswer.usage = chunk.usage;
    }
    assert.ok(pieces.length > 1, `streamed in pieces (${pieces.length})`);
    assert.ok(pieces.join("").length > 0);
    assert.ok((tabAnswer.usage?.prompt_tokens ?? 0) > 0);
    // A piece is one token or more (a character split over tokens goes whole).
    assert.ok((tabAnswer.usage?.completion_tokens ?? 0) >= pieces.length);
  });

  test("a job too big for the tab is refused clearly while only the tab serves the model, and goes to a native neuron once one does", async () => {
    const big = {
      model: TEST_MODEL_ID,
      messages: [{ role: "user" as const, content: "a long one" }],
      max_tokens: TAB_MAX_JOB_TOKENS,
      temperature: 0,
    };
    await assert.rejects(client.chat.completions.create(big), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError, String(error));
      assert.equal(error.param, "max_tokens");
      assert.match(error.message, /more tokens than any neuron serving helexa-tiny-e2e takes per job/);
      return true;
    });

    const [control, api] = await Promise.all([freePort(), freePort()]);
    native = new HelexaProcess([
      "neuron",
      ...["--cortex", orchestratorUrl, "--token", nativeToken.token, "--name", "native e2e neuron"],
      ...["--model", modelPath, "--models-dir", join(home, "models"), "--threads", "1"],
      ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
      ...["--ice-bind-address", "127.0.0.1"],
    ]);
    nativeApiUrl = `http://127.0.0.1:${api}`;
    await waitUntil(
      async () =>
        (await neuronsOnline()).some((neuron) => neuron.id === nativeToken.neuronId && neuron.ready),
      30_000,
      "the native neuron to register",
    );
    const { data, response } = await client.chat.completions.create(big).withResponse();
    assert.equal(response.headers.get("x-helexa-neuron"), nativeToken.neuronId);
    assert.ok((data.usage?.completion_tokens ?? 0) > 0);
  });

  test("the tab's usage is exactly what node-llama-cpp counts for the same model and request", async () => {
    // The native neuron's own API socket: the same model in node-llama-cpp, no cortex in between.
    const nativeClient = new OpenAI({ apiKey: "unused", baseURL: `${nativeApiUrl}/v1`, maxRetries: 0 });
    const reference = await nativeClient.chat.completions.create(greeting);
    assert.deepEqual(
      {
        prompt: tabAnswer.usage?.prompt_tokens,
        completion: tabAnswer.usage?.completion_tokens,
        finish: tabAnswer.finishReason,
      },
      {
        prompt: reference.usage?.prompt_tokens,
        completion: reference.usage?.completion_tokens,
        finish: reference.choices[0]?.finish_reason,
      },
    );
  });

  test("closing the page mid-job takes the tab out of the registry at once, and ends its job cleanly", async () => {
    // The native neuron leaves first, so the next job is the tab's and nothing can take it over.
    await native?.stop("SIGTERM");
    native = null;
    await waitUntil(
      async () => !(await neuronsOnline()).some((neuron) => neuron.id === nativeToken.neuronId),
      10_000,
      "the native neuron to leave",
    );
    const { data: stream, response } = await client.chat.completions
      .create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "cut short" }],
        max_tokens: 200,
        stream: true,
      })
      .withResponse();
    assert.equal(response.headers.get("x-helexa-neuron"), tabNeuronId);
    let received = 0;
    let closedAt = 0;
    let closing: Promise<void> | null = null;
    let streamError: unknown = null;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) received += 1;
        if (received === 3 && !closing) {
          closedAt = performance.now();
          closing = page.close();
        }
      }
    } catch (error) {
      streamError = error;
    }
    const endedAfterMs = Math.round(performance.now() - closedAt);
    await closing;
    assert.ok(closing, `the stream ran long enough to be cut (${received} pieces)`);
    assert.ok(streamError instanceof OpenAI.APIError, `the client is told: ${String(streamError)}`);
    assert.match(streamError.message, /went away|neuron/i);
    await waitUntil(
      async () => !(await neuronsOnline()).some((neuron) => neuron.id === tabNeuronId),
      2_000,
      "the tab to leave the registry",
    );
    const goneAfterMs = Math.round(performance.now() - closedAt);
    console.log(
      `the stream ended ${endedAfterMs} ms and the tab left the registry ${goneAfterMs} ms after the page closed`,
    );
    assert.ok(goneAfterMs < 2_000);
  });

  test("the tab's jobs are on the books, with no operator to pay (an anonymous donor's share is the platform's)", async () => {
    await cortex.stop("SIGINT");
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      const { db } = database;
      const served = (await db.select().from(jobs)).filter((job) => job.neuronId === tabNeuronId);
      const streamed = served.find((job) => job.status === "completed");
      assert.ok(streamed, "the streamed job is recorded against the tab");
      assert.equal(streamed.promptTokens, tabAnswer.usage?.prompt_tokens);
      assert.equal(streamed.completionTokens, tabAnswer.usage?.completion_tokens);
      assert.ok(streamed.cost > 0);
      // Where its cost went: all of it to the platform, none to an operator.
      const transactionIds = new Set(
        (await db.select().from(ledgerTransactions))
          .filter((transaction) => transaction.jobId === streamed.id)
          .map((transaction) => transaction.id),
      );
      const kinds = new Map(
        (await db.select().from(ledgerAccounts)).map((account) => [account.id, account.kind]),
      );
      const credited = (await db.select().from(ledgerEntries))
        .filter((entry) => transactionIds.has(entry.transactionId) && entry.amount > 0)
        .map((entry) => ({ kind: kinds.get(entry.ledgerAccountId), amount: entry.amount }));
      assert.deepEqual(credited, [{ kind: "platform_revenue", amount: streamed.cost }]);
      // The job cut short by the closing page failed, and was charged for the tokens delivered alone.
      const cut = served.find((job) => job.status === "failed");
      assert.ok(cut, "the cut job is recorded as failed");
      assert.ok(cut.completionTokens >= 3 && cut.completionTokens < 200);
      assert.equal(cut.cost, Math.ceil((cut.completionTokens * PRICES.completion) / 1_000_000));
    } finally {
      await database.close();
    }
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Provisioning from a local HTTP model server: a neuron started with no model loads catalog models on demand, with progress, within its budget.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateTinyModel } from "@helexa/gguf";
import OpenAI, { APIError } from "openai";
import { makeTestWorkspace } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { seedFabric } from "./__fixtures__/seed-fabric.js";

interface ServedFile {
  bytes: Buffer;
  sha256: string;
}

interface OnlineNeuron {
  id: string;
  ready: boolean;
  models: string[];
}

/** The model server: plain HTTP with a content length, as a CDN answers; it counts requests per path. */
async function startModelServer(files: Record<string, Buffer>) {
  const requests = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = request.url ?? "/";
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const body = files[path];
    if (!body) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
    response.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("provisioning: cortex has a neuron load catalog models on the first request for them", () => {
  let home: string;
  let modelsDir: string;
  let cortex: HelexaProcess;
  let neuron: HelexaProcess;
  let orchestratorUrl: string;
  let client: OpenAI;
  let modelServer: Awaited<ReturnType<typeof startModelServer>>;
  const files = new Map<string, ServedFile>();

  before(async () => {
    ({ home } = await makeTestWorkspace());
    modelsDir = join(home, "neuron-models");
    for (const [name, seed] of [
      ["a", 11],
      ["b", 12],
      ["c", 13],
    ] as const) {
      const path = join(home, `${name}.gguf`);
      await generateTinyModel({ path, seed, preset: "test" });
      const bytes = await readFile(path);
      files.set(name, { bytes, sha256: createHash("sha256").update(bytes).digest("hex") });
    }
    const file = (name: string) => files.get(name)!;
    modelServer = await startModelServer({
      "/a.gguf": file("a").bytes,
      "/b.gguf": file("b").bytes,
      "/c.gguf": file("c").bytes,
      "/wrong.gguf": file("a").bytes,
    });

    const entry = (id: string, path: string, served: ServedFile, sha256 = served.sha256) => ({
      id,
      sourceUrl: `${modelServer.origin}${path}`,
      sha256,
      sizeBytes: served.bytes.length,
      contextLength: 2048,
      pricePromptPerMillion: 10_000,
      priceCompletionPerMillion: 20_000,
    });
    const seeded = await seedFabric({
      home,
      accountName: "provisioning e2e",
      neuronNames: ["empty"],
      prices: { prompt: 10_000, completion: 20_000 },
      credits: 5_000_000,
      catalog: [
        entry("provisioned-a", "/a.gguf", file("a")),
        entry("provisioned-b", "/b.gguf", file("b")),
        entry("provisioned-c", "/c.gguf", file("c")),
        // The file of model a under another name, with a checksum that cannot match.
        entry("provisioned-wrong", "/wrong.gguf", file("a"), "0".repeat(64)),
      ],
    });

    const [orchestrator, gateway, control, api] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    cortex = new HelexaProcess(
      [
        "cortex",
        ...["--home", home, "--ice-bind-address", "127.0.0.1"],
        ...["--orchestrator-socket", `127.0.0.1:${orchestrator}`, "--gateway-socket", `127.0.0.1:${gateway}`],
      ],
      // Its model.* lines are at info level, one JSON object per line on stderr.
      { HELEXA_LOG_LEVEL: "info", HELEXA_LOG_JSON: "true" },
    );
    const [, orchestratorMatch] = await cortex.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/);
    orchestratorUrl = orchestratorMatch ?? "";
    client = new OpenAI({ apiKey: seeded.apiKey, baseURL: `http://127.0.0.1:${gateway}/v1`, maxRetries: 0 });

    // Room for two of the three models (they are the same size), not three.
    const budget = Math.floor(file("a").bytes.length * 2.5);
    neuron = new HelexaProcess([
      "neuron",
      ...["--cortex", orchestratorUrl, "--token", seeded.neurons[0]?.token ?? "", "--name", "empty"],
      ...["--models-dir", modelsDir, "--memory-budget", String(budget), "--threads", "1", "--gpu", "off"],
      ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
      ...["--ice-bind-address", "127.0.0.1"],
    ]);
    await neuron.waitForOutput(/serving no model yet/);
    await waitUntil(
      async () => (await online()).some((entry) => entry.ready),
      15_000,
      "the neuron to register",
    );
  });

  after(async () => {
    await neuron?.stop("SIGKILL");
    await cortex?.stop("SIGKILL");
    await modelServer?.close();
  });

  async function online(): Promise<OnlineNeuron[]> {
    const health = (await (await fetch(`${orchestratorUrl.replace("ws:", "http:")}/health`)).json()) as {
      neurons: OnlineNeuron[];
    };
    return health.neurons;
  }

  function cortexLines(event: string): Array<Record<string, unknown>> {
    return cortex.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.event === event);
  }

  async function ask(model: string) {
    return client.chat.completions
      .create({ model, messages: [{ role: "user", content: "hello" }], max_tokens: 4, temperature: 0 })
      .withResponse();
  }

  async function metric(name: string, labels: string): Promise<number> {
    const text = await (await fetch(`${orchestratorUrl.replace("ws:", "http:")}/metrics`)).text();
    const line = text.split("\n").find((entry) => entry.startsWith(`${name}{${labels}}`));
    return line ? Number(line.split(" ").at(-1)) : 0;
  }

  test("a wrong sha256 in the catalog: the client gets a clear error, and nothing half-written stays", async () => {
    await assert.rejects(ask("provisioned-wrong"), (error) => {
      assert.ok(error instanceof APIError, String(error));
      assert.equal(error.status, 502);
      assert.match(error.message, /model provisioned-wrong could not be downloaded on neuron empty/);
      assert.match(error.message, /checksum mismatch: expected sha256 0{64}, got [0-9a-f]{64}/);
      return true;
    });
    assert.equal(modelServer.requests.get("/wrong.gguf"), 1, "the file was fetched once");
    assert.deepEqual(await readdir(modelsDir), [], "no wrong.gguf, no wrong.gguf.part");
    // Asked again at once, cortex answers from the failure instead of downloading it again.
    await assert.rejects(ask("provisioned-wrong"), /checksum mismatch/);
    assert.equal(modelServer.requests.get("/wrong.gguf"), 1);
    await neuron.waitForOutput(/model provisioned-wrong failed: .*checksum mismatch/);
  });

  test("the first request for a catalog model has the neuron download and load it, with progress; the openai SDK gets its answer", async () => {
    const startedAt = performance.now();
    const { data, response } = await ask("provisioned-a");
    const seconds = (performance.now() - startedAt) / 1000;
    assert.equal(data.usage?.completion_tokens, 4);
    assert.ok(response.headers.get("x-helexa-neuron"));
    process.stdout.write(`# first request with download and load: ${seconds.toFixed(2)} s\n`);

    // The neuron's terminal: progress bars for both phases (a line per 10% when not a TTY), then a summary.
    assert.match(neuron.stderr, /download provisioned-a: (100%|done)/);
    assert.match(neuron.stderr, /load provisioned-a: (100%|done)/);
    await neuron.waitForOutput(/model provisioned-a loaded \(0\.\d MB, downloaded/);
    // cortex heard the neuron's model.progress for both phases, then saw the model listed.
    const progress = cortexLines("model.progress").filter((entry) => entry.model === "provisioned-a");
    assert.ok(progress.some((entry) => entry.phase === "download"));
    assert.ok(progress.some((entry) => entry.phase === "load" && entry.percent === 100));
    assert.equal(cortexLines("model.loaded").filter((entry) => entry.model === "provisioned-a").length, 1);
    assert.equal(await metric("helexa_model_loads_total", 'model="provisioned-a",result="loaded"'), 1);
    assert.deepEqual(await readdir(modelsDir), ["a.gguf"]);

    // The next request finds it loaded: no second download.
    await ask("provisioned-a");
    assert.equal(modelServer.requests.get("/a.gguf"), 1);
  });

  test("a model past the budget unloads the least recently used idle one first", async () => {
    await ask("provisioned-b");
    assert.deepEqual((await online())[0]?.models.sort(), ["provisioned-a", "provisioned-b"]);
    // a is used after b: b is now the least recently used.
    await ask("provisioned-a");
    await ask("provisioned-c");
    await neuron.waitForOutput(/model provisioned-b unloaded/);
    await waitUntil(
      async () => (await online())[0]?.models.sort().join() === "provisioned-a,provisioned-c",
      5000,
      "the neuron to list a and c",
    );
    const unloads = cortexLines("model.unload_requested");
    assert.deepEqual(
      unloads.map((entry) => [entry.model, entry.for]),
      [["provisioned-b", "provisioned-c"]],
    );
    // a stayed loaded throughout: still one download of it.
    await ask("provisioned-a");
    assert.equal(modelServer.requests.get("/a.gguf"), 1);
    const files = (await readdir(modelsDir)).sort();
    assert.deepEqual(files, ["a.gguf", "b.gguf", "c.gguf"], "whole files only, no .part");
  });
});

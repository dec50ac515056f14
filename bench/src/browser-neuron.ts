// SPDX-License-Identifier: PolyForm-Shield-1.0
// Decode speed of the browser neuron's engine (wllama in a Web Worker, in Chromium) against the native neuron's (node-llama-cpp), same model and prompts.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { parseArgs } from "node:util";
import { browserBundleDirectory } from "@helexa/browser-neuron/bundle";
import { generateTinyModel } from "@helexa/gguf";
import type { GenerationRequest } from "@helexa/protocol";
import type { StreamPart } from "@helexa/runtime";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import { chromium } from "playwright-core";
import { benchPrompt } from "./bench-prompts.js";
import { median } from "./statistics.js";

const usage = `Usage: npm run browser-neuron -w bench -- [--prompts N] [--max-tokens N]

Both engines run one thread on the generated bench model, greedy, the same prompts in turn; prints
decode tokens/s (tokens after the first over the time since the first) and time to first token.`;

const { values } = parseArgs({
  options: {
    prompts: { type: "string", default: "8" },
    "max-tokens": { type: "string", default: "128" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const prompts = Number(values.prompts);
const maxTokens = Number(values["max-tokens"]);
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

interface Run {
  text: string;
  completionTokens: number;
  firstTokenMs: number;
  decodeTokensPerSecond: number;
}

function request(index: number): GenerationRequest {
  return {
    model: "bench",
    input: { kind: "chat", messages: benchPrompt(index) },
    sampling: { temperature: 0, maxTokens },
  };
}

/** The page's side: the engine worker loaded once, then each prompt timed the same way as natively. */
const pageScript = `
import { createEngineClient } from "/browser/browser-neuron.js";
const engine = createEngineClient({ workerUrl: "/browser/engine-worker.js" });
window.load = async () => {
  const ready = await engine.load({ id: "bench", url: "/model.gguf" }, { preferences: { engine: "wllama", threads: 1 } });
  return ready.description;
};
window.run = async (request) => {
  const started = performance.now();
  let first = null, text = "", usage = null, firstTokens = 0;
  for await (const part of engine.doStream({ request })) {
    if (part.type === "text-delta") {
      if (first === null) { first = performance.now(); firstTokens = part.usage?.completionTokens ?? 1; }
      text += part.text;
    } else if (part.type === "finish") usage = part.usage;
    else throw new Error(part.error.message);
  }
  const end = performance.now();
  const decoded = usage.completionTokens - firstTokens;
  return { text, completionTokens: usage.completionTokens, firstTokenMs: first - started,
    decodeTokensPerSecond: decoded / ((end - first) / 1000) };
};
`;

async function nativeRun(
  runtime: Awaited<ReturnType<typeof createLlamaCppRuntime>>,
  index: number,
): Promise<Run> {
  const started = performance.now();
  let first: number | null = null;
  let firstTokens = 0;
  let text = "";
  let completionTokens = 0;
  for await (const part of runtime.doStream({ request: request(index) }) as AsyncIterable<StreamPart>) {
    if (part.type === "text-delta") {
      if (first === null) {
        first = performance.now();
        firstTokens = part.usage?.completionTokens ?? 1;
      }
      text += part.text;
    } else if (part.type === "finish") completionTokens = part.usage.completionTokens;
    else throw part.error;
  }
  const end = performance.now();
  const at = first ?? end;
  return {
    text,
    completionTokens,
    firstTokenMs: at - started,
    decodeTokensPerSecond: (completionTokens - firstTokens) / ((end - at) / 1000),
  };
}

const directory = await mkdtemp(join(tmpdir(), "helexa-bench-browser-"));
const modelPath = join(directory, "bench.gguf");
await generateTinyModel({ path: modelPath, seed: 1, preset: "bench" });
const model = await readFile(modelPath);
const types: Record<string, string> = { ".js": "text/javascript", ".wasm": "application/wasm" };
const server = createServer((incoming, response) => {
  const path = new URL(incoming.url ?? "/", "http://bench.invalid").pathname;
  if (path === "/model.gguf")
    response.writeHead(200, { "content-type": "application/octet-stream" }).end(model);
  else if (path === "/page.js")
    response.writeHead(200, { "content-type": "text/javascript" }).end(pageScript);
  else if (path.startsWith("/browser/")) {
    const file = normalize(join(browserBundleDirectory, path.slice("/browser/".length)));
    readFile(file).then(
      (body) =>
        response
          .writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" })
          .end(body),
      () => response.writeHead(404).end(),
    );
  } else
    response
      .writeHead(200, { "content-type": "text/html" })
      .end('<!doctype html><script type="module" src="/page.js"></script>');
});
server.listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const native = await createLlamaCppRuntime({
  models: [{ id: "bench", path: modelPath }],
  threads: 1,
  gpu: false,
});
try {
  const page = await browser.newPage();
  await page.goto(origin);
  await page.waitForFunction("typeof window.run === 'function'");
  const engine = (await page.evaluate("window.load()")) as string;
  process.stdout.write(
    `browser neuron engine: ${engine}\nnative neuron engine: ${native.engine}\nbench model, 1 thread each, greedy, ${prompts} prompts of up to ${maxTokens} tokens, the order flipped each prompt\n\n`,
  );
  const browserRuns: Run[] = [];
  const nativeRuns: Run[] = [];
  let sameText = 0;
  for (let index = 0; index < prompts; index++) {
    const inBrowser = () => page.evaluate(`window.run(${JSON.stringify(request(index))})`) as Promise<Run>;
    const [first, second] =
      index % 2 === 0
        ? [inBrowser, () => nativeRun(native, index)]
        : [() => nativeRun(native, index), inBrowser];
    const a = await first();
    const b = await second();
    const [tab, node] = index % 2 === 0 ? [a, b] : [b, a];
    browserRuns.push(tab);
    nativeRuns.push(node);
    if (tab.text === node.text) sameText++;
  }
  const row = (label: string, runs: Run[]) =>
    `${label.padEnd(34)}${median(runs.map((run) => run.decodeTokensPerSecond))
      .toFixed(1)
      .padStart(10)}${median(runs.map((run) => run.firstTokenMs))
      .toFixed(1)
      .padStart(12)}${runs
      .reduce((sum, run) => sum + run.completionTokens, 0)
      .toString()
      .padStart(10)}\n`;
  process.stdout.write(
    `${"".padEnd(34)}${"tok/s p50".padStart(10)}${"TTFT ms p50".padStart(12)}${"tokens".padStart(10)}\n`,
  );
  process.stdout.write(row("browser (wllama, Web Worker)", browserRuns));
  process.stdout.write(row("native (node-llama-cpp)", nativeRuns));
  const ratio =
    median(browserRuns.map((run) => run.decodeTokensPerSecond)) /
    median(nativeRuns.map((run) => run.decodeTokensPerSecond));
  process.stdout.write(
    `\nbrowser / native decode speed: ${ratio.toFixed(3)}x\nsame text: ${sameText}/${prompts} prompts\n`,
  );
} finally {
  await browser.close();
  await native[Symbol.asyncDispose]();
  server.close();
  await rm(directory, { recursive: true, force: true });
}

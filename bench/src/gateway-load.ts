// SPDX-License-Identifier: PolyForm-Shield-1.0
// Load on the gateway: thousands of concurrent streams through cortex to neurons with the synthetic load-test runtime.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createAccountStore, createApiKeyStore, createNeuronStore, Ledger, openDatabase } from "@helexa/db";
import OpenAI from "openai";
import { freeLoopbackPort } from "./free-port.js";
import {
  addedLatencies,
  emptyResult,
  type LoadStreamResult,
  recordTokens,
  runFetchStream,
  streamComplete,
} from "./load-stream.js";
import { type CpuTime, ProcessCpuMeter, type ThreadCpuReading } from "./process-cpu-meter.js";
import { quantile } from "./statistics.js";

const MODEL = "synthetic-load-test";

interface LoadOptions {
  streams: number[];
  tokensPerSecond: number;
  maxTokens: number;
  neurons: number;
  slots: number;
  rampMs: number;
  phaseTimeoutSeconds: number;
  queueLimit: number;
  client: "fetch" | "sdk";
}

const usage = `Usage: npm run gateway-load -w bench -- [options]

  --streams N[,N...]        concurrent streams of each phase (default 500,2000; BENCH_LOAD_STREAMS)
  --tokens-per-second R     each stream's rate in the synthetic runtime (default 20)
  --max-tokens N            max_tokens of every request (default 100)
  --neurons N               helexa neuron processes (default 2)
  --slots N                 slots of each neuron (default 1000)
  --ramp-ms MS              the phase's requests start evenly over this long (default 1000)
  --phase-timeout S         a phase's streams still open after this long are lost (default 60)
  --queue-limit N           cortex.queueLimit (default 4096)
  --client fetch|sdk        plain fetch with a small SSE reader, or the openai SDK (default fetch)
`;

function parseOptions(argv: string[]): LoadOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      streams: { type: "string" },
      "tokens-per-second": { type: "string" },
      "max-tokens": { type: "string" },
      neurons: { type: "string" },
      slots: { type: "string" },
      "ramp-ms": { type: "string" },
      "phase-timeout": { type: "string" },
      "queue-limit": { type: "string" },
      client: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const positive = (text: string | undefined, fallback: number, name: string) => {
    const value = text === undefined ? fallback : Number(text);
    if (!(Number.isFinite(value) && value > 0)) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const streams = (values.streams ?? process.env.BENCH_LOAD_STREAMS ?? "500,2000")
    .split(",")
    .map((text) => positive(text.trim(), 0, "streams"));
  const client = values.client ?? "fetch";
  if (client !== "fetch" && client !== "sdk") throw new Error("--client must be fetch or sdk");
  return {
    streams,
    tokensPerSecond: positive(values["tokens-per-second"], 20, "tokens-per-second"),
    maxTokens: positive(values["max-tokens"], 100, "max-tokens"),
    neurons: positive(values.neurons, 2, "neurons"),
    slots: positive(values.slots, 1000, "slots"),
    rampMs: values["ramp-ms"] === undefined ? 1000 : Number(values["ramp-ms"]),
    phaseTimeoutSeconds: positive(values["phase-timeout"], 60, "phase-timeout"),
    queueLimit: positive(values["queue-limit"], 4096, "queue-limit"),
    client,
  };
}

/** A `helexa` child process, its output kept for a failure's explanation. */
class Helexa {
  readonly child: ChildProcess;
  output = "";
  constructor(
    readonly label: string,
    args: string[],
    environment: Record<string, string> = {},
  ) {
    const cli = fileURLToPath(import.meta.resolve("@helexa/cli/dist/main.js"));
    // BENCH_CORTEX_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles cortex (NODE_OPTIONS refuses --cpu-prof).
    const nodeArgs =
      label === "helexa cortex" ? (process.env.BENCH_CORTEX_NODE_ARGS ?? "").split(" ").filter(Boolean) : [];
    this.child = spawn(process.execPath, [...nodeArgs, cli, ...args], {
      env: { ...process.env, HELEXA_LOG_LEVEL: "warn", ...environment },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-32_000);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    process.once("exit", () => this.child.kill("SIGKILL"));
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.exited || Date.now() > deadline)
        throw new Error(`${this.label} did not print ${pattern}:\n${this.output.slice(-3000)}`);
      await sleep(50);
    }
  }
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGINT");
    // A profiled cortex writes its profile as it exits: give it longer.
    const timer = setTimeout(
      () => this.child.kill("SIGKILL"),
      process.env.BENCH_CORTEX_NODE_ARGS ? 120_000 : 10_000,
    );
    await exited;
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Seeded {
  apiKey: string;
  neuronTokens: string[];
}

/** An account with plenty of credit, its key and the neurons' tokens, written before cortex opens the database. */
async function seedDatabase(home: string, neurons: number): Promise<Seeded> {
  const database = await openDatabase({ dataDir: join(home, "db") });
  try {
    const accounts = createAccountStore({ db: database.db });
    await accounts.ensurePlatformAccounts();
    await using apiKeys = createApiKeyStore({ db: database.db });
    await using neuronStore = createNeuronStore({ db: database.db });
    await using ledger = new Ledger({ db: database.db });
    const account = await accounts.createAccount({ name: "gateway load" });
    const { key } = await apiKeys.createApiKey({ accountId: account.id, name: "gateway load" });
    await ledger.grantCredits({
      accountId: account.id,
      amount: 1_000_000_000_000,
      idempotencyKey: "bench-gateway-load",
    });
    const neuronTokens: string[] = [];
    for (let index = 0; index < neurons; index++) {
      neuronTokens.push(
        (await neuronStore.registerNeuron({ accountId: account.id, name: `load-${index + 1}` })).token,
      );
    }
    return { apiKey: key, neuronTokens };
  } finally {
    await database.close();
  }
}

interface NeuronHealth {
  name: string;
  ready: boolean;
  activeJobs: number;
  jobsServed?: number;
}

async function orchestratorNeurons(orchestratorHttp: string): Promise<NeuronHealth[]> {
  const response = await fetch(`${orchestratorHttp}/health`);
  return ((await response.json()) as { neurons: NeuronHealth[] }).neurons;
}

/** Cortex's Prometheus figures, each summed over its labels. */
async function scrapeMetrics(orchestratorHttp: string): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  try {
    const text = await (await fetch(`${orchestratorHttp}/metrics`)).text();
    for (const line of text.split("\n")) {
      const match = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.eE+-]+|NaN)$/.exec(line);
      if (match?.[1] && match[2]) sums.set(match[1], (sums.get(match[1]) ?? 0) + Number(match[2]));
    }
  } catch {}
  return sums;
}

/** The kernel's count of connections dropped because a listen queue was full (this network namespace). */
function listenOverflows(): number | null {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    for (let index = 0; index + 1 < lines.length; index += 2) {
      const names = (lines[index] as string).split(" ");
      const values = (lines[index + 1] as string).split(" ");
      const at = names.indexOf("ListenOverflows");
      if (names[0] === "TcpExt:" && at !== -1) return Number(values[at]);
    }
  } catch {}
  return null;
}

interface CpuMeters {
  meters: Array<{ label: string; meter: ProcessCpuMeter }>;
  read(): Map<string, ThreadCpuReading | null>;
}

function cpuMeters(processes: Array<{ label: string; pid: number }>): CpuMeters {
  const meters = processes.map(({ label, pid }) => ({ label, meter: new ProcessCpuMeter(pid) }));
  return {
    meters,
    read: () => new Map(meters.map(({ label, meter }) => [label, meter.read()])),
  };
}

interface PhaseReport {
  streams: number;
  completed: number;
  lost: number;
  lostReasons: Map<string, number>;
  wallSeconds: number;
  tokens: number;
  ttft: number[];
  added: Float64Array;
  cpu: Array<{ label: string; running: CpuTime; others: CpuTime } | { label: string; running: null }>;
  peakActiveJobs: number;
  peakQueueDepth: number;
  listenOverflows: number | null;
  /** Mean seconds in cortex's queue and from arrival at the gateway to the first token, from its /metrics. */
  meanQueueWait: number;
  meanGatewayTtft: number;
}

async function runPhase(
  streams: number,
  options: LoadOptions,
  target: { gatewayUrl: string; apiKey: string; orchestratorHttp: string },
  meters: CpuMeters,
): Promise<PhaseReport> {
  const intervalMs = 1000 / options.tokensPerSecond;
  // One controller per stream: thousands of listeners on one signal would only earn warnings.
  const aborts = Array.from({ length: streams }, () => new AbortController());
  const timer = setTimeout(() => {
    for (const abort of aborts) abort.abort(new Error("phase deadline"));
  }, options.phaseTimeoutSeconds * 1000);
  const sdk =
    options.client === "sdk"
      ? new OpenAI({ apiKey: target.apiKey, baseURL: `${target.gatewayUrl}/v1`, maxRetries: 0 })
      : null;
  let peakActiveJobs = 0;
  let peakQueueDepth = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(500);
      try {
        const neurons = await orchestratorNeurons(target.orchestratorHttp);
        peakActiveJobs = Math.max(
          peakActiveJobs,
          neurons.reduce((sum, neuron) => sum + neuron.activeJobs, 0),
        );
        const depth = (await scrapeMetrics(target.orchestratorHttp)).get("helexa_queue_depth") ?? 0;
        peakQueueDepth = Math.max(peakQueueDepth, depth);
      } catch {}
    }
  })();

  const metricsBefore = await scrapeMetrics(target.orchestratorHttp);
  const overflowsBefore = listenOverflows();
  const before = meters.read();
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: streams }, async (_, index) => {
      await sleep((index * options.rampMs) / streams);
      const request = {
        url: `${target.gatewayUrl}/v1/chat/completions`,
        apiKey: target.apiKey,
        model: MODEL,
        prompt: `load stream ${index}`,
        maxTokens: options.maxTokens,
        signal: (aborts[index] as AbortController).signal,
      };
      return sdk ? runSdkStream(sdk, request) : runFetchStream(request);
    }),
  );
  const ended = performance.now();
  const after = meters.read();
  const metricsAfter = await scrapeMetrics(target.orchestratorHttp);
  const overflowsAfter = listenOverflows();
  const mean = (name: string) => {
    const delta = (suffix: string) =>
      (metricsAfter.get(`${name}_${suffix}`) ?? 0) - (metricsBefore.get(`${name}_${suffix}`) ?? 0);
    return delta("sum") / Math.max(1, delta("count"));
  };
  clearTimeout(timer);
  sampling = false;
  await sampler;

  const lostReasons = new Map<string, number>();
  let completed = 0;
  let tokens = 0;
  const ttft: number[] = [];
  const added: number[] = [];
  for (const result of results) {
    tokens += result.arrivals.length;
    if (result.arrivals.length > 0) ttft.push((result.arrivals[0] as number) - result.startAt);
    for (const value of addedLatencies(result, intervalMs)) added.push(value);
    if (streamComplete(result, options.maxTokens, options.client === "sdk")) completed += 1;
    else {
      const reason =
        result.error?.slice(0, 120) ??
        `incomplete: ${result.tokenIndices.length} tokens, finish ${result.finishReason}, done ${result.done}`;
      lostReasons.set(reason, (lostReasons.get(reason) ?? 0) + 1);
    }
  }
  const cpu = meters.meters.map(({ label, meter }) => {
    const start = before.get(label);
    const end = after.get(label);
    if (!start || !end) return { label, running: null };
    const used = meter.between(start, end);
    return { label, running: used.main, others: used.others };
  });
  return {
    streams,
    completed,
    lost: streams - completed,
    lostReasons,
    wallSeconds: (ended - started) / 1000,
    tokens,
    ttft,
    added: Float64Array.from(added).sort(),
    cpu,
    peakActiveJobs,
    peakQueueDepth,
    listenOverflows:
      overflowsBefore === null || overflowsAfter === null ? null : overflowsAfter - overflowsBefore,
    meanQueueWait: mean("helexa_queue_wait_seconds"),
    meanGatewayTtft: mean("helexa_time_to_first_token_seconds"),
  };
}

/** The same stream through the openai SDK, for comparing the client's own cost. */
async function runSdkStream(
  client: OpenAI,
  request: { model: string; prompt: string; maxTokens: number; signal: AbortSignal },
): Promise<LoadStreamResult> {
  const result = emptyResult();
  try {
    const stream = await client.chat.completions.create(
      {
        model: request.model,
        messages: [{ role: "user", content: request.prompt }],
        max_tokens: request.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal: request.signal },
    );
    result.status = 200;
    result.headersAt = performance.now();
    for await (const chunk of stream) {
      const now = performance.now();
      const choice = chunk.choices[0];
      if (choice?.delta?.content) recordTokens(choice.delta.content, now, result);
      if (choice?.finish_reason) result.finishReason = choice.finish_reason;
      if (chunk.usage) result.completionTokens = chunk.usage.completion_tokens;
    }
    result.done = true;
  } catch (error) {
    result.status ??= (error as { status?: number }).status ?? null;
    result.error = (error as Error).message;
  }
  result.endAt = performance.now();
  return result;
}

function sortedQuantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] as number;
  return low + ((sorted[above] as number) - low) * (position - below);
}

function printPhase(report: PhaseReport): void {
  const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(46)}${value}\n`);
  const f = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
  process.stdout.write(`\n== ${report.streams} concurrent streams ==\n`);
  line("streams completed / lost", `${report.completed} / ${report.lost}`);
  for (const [reason, count] of report.lostReasons) line("  lost", `${count} x ${reason}`);
  line("wall time (s)", f(report.wallSeconds, 2));
  line("peak jobs running on the neurons", String(report.peakActiveJobs));
  line("peak jobs waiting in cortex's queue", String(report.peakQueueDepth));
  line("connections dropped, listen queue full", String(report.listenOverflows ?? "n/a"));
  line(
    "cortex: mean queue wait / mean TTFT (ms)",
    `${f(report.meanQueueWait * 1000)} / ${f(report.meanGatewayTtft * 1000)}`,
  );
  line("tokens delivered", `${report.tokens}  (${f(report.tokens / report.wallSeconds, 0)} tokens/s)`);
  if (report.ttft.length > 0)
    line("TTFT p50 / p99 (ms)", `${f(quantile(report.ttft, 0.5))} / ${f(quantile(report.ttft, 0.99))}`);
  line(
    "added latency per token p50 / p99 / max (ms)",
    `${f(sortedQuantile(report.added, 0.5))} / ${f(sortedQuantile(report.added, 0.99))} / ${f(report.added.at(-1) ?? Number.NaN)}`,
  );
  const perThousand = 1000 / Math.max(1, report.tokens);
  process.stdout.write(
    "CPU per 1,000 tokens (ms)                     main thread  other threads  waiting for a CPU\n",
  );
  for (const entry of report.cpu) {
    if (!entry.running) {
      line(`  ${entry.label}`, "n/a (no /proc schedstat)");
      continue;
    }
    const ms = (ns: number) => f((ns / 1e6) * perThousand, 1).padStart(11);
    process.stdout.write(
      `  ${entry.label.padEnd(44)}${ms(entry.running.runningNs)}  ${ms(entry.others.runningNs)}  ${ms(entry.running.waitingNs + entry.others.waitingNs)}\n`,
    );
  }
  const total = report.cpu.reduce(
    (sum, entry) => sum + (entry.running ? entry.running.runningNs + entry.others.runningNs : 0),
    0,
  );
  line("CPU used, all processes (cores)", f(total / 1e9 / report.wallSeconds, 2));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const home = await mkdtemp(join(tmpdir(), "helexa-gateway-load-"));
  const processes: Helexa[] = [];
  try {
    const seeded = await seedDatabase(home, options.neurons);
    const [orchestratorPort, gatewayPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const cortex = new Helexa(
      "helexa cortex",
      [
        "cortex",
        "--home",
        home,
        "--orchestrator-socket",
        `127.0.0.1:${orchestratorPort}`,
        "--gateway-socket",
        `127.0.0.1:${gatewayPort}`,
        "--ice-bind-address",
        "127.0.0.1",
      ],
      {
        HELEXA_CORTEX_QUEUE_LIMIT: String(options.queueLimit),
        HELEXA_CORTEX_QUEUE_TIMEOUT_SECONDS: String(options.phaseTimeoutSeconds),
      },
    );
    processes.push(cortex);
    await cortex.waitFor(/gateway\s+http/);
    const orchestratorHttp = `http://127.0.0.1:${orchestratorPort}`;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    for (const [index, token] of seeded.neuronTokens.entries()) {
      const neuron = new Helexa(`helexa neuron ${index + 1}`, [
        "neuron",
        "--home",
        join(home, `neuron-${index + 1}`),
        "--name",
        `load-${index + 1}`,
        "--cortex",
        `ws://127.0.0.1:${orchestratorPort}`,
        "--token",
        token,
        "--synthetic-load-test-runtime",
        String(options.tokensPerSecond),
        "--slots",
        String(options.slots),
        "--control-socket",
        `127.0.0.1:${await freeLoopbackPort()}`,
        "--api-socket",
        `127.0.0.1:${await freeLoopbackPort()}`,
        "--ice-bind-address",
        "127.0.0.1",
      ]);
      processes.push(neuron);
    }
    const readyBy = Date.now() + 30_000;
    for (;;) {
      const neurons = await orchestratorNeurons(orchestratorHttp).catch(() => []);
      if (neurons.filter((neuron) => neuron.ready).length >= options.neurons) break;
      const dead = processes.find((child) => child.exited);
      if (dead) throw new Error(`${dead.label} exited:\n${dead.output.slice(-3000)}`);
      if (Date.now() > readyBy) throw new Error(`only ${neurons.length} neurons are ready after 30 s`);
      await sleep(100);
    }
    const limit = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
    process.stdout.write(
      [
        `gateway load: ${options.neurons} neurons (synthetic load-test runtime, ${options.tokensPerSecond} tokens/s per stream, ${options.slots} slots each),`,
        `cortex.queueLimit ${options.queueLimit}, max_tokens ${options.maxTokens}, client ${options.client}, requests start over ${options.rampMs} ms, open files limit ${limit}`,
        "",
      ].join("\n"),
    );
    const target = { gatewayUrl, apiKey: seeded.apiKey, orchestratorHttp };
    const meters = cpuMeters([
      { label: "cortex", pid: cortex.pid },
      ...processes.slice(1).map((neuron, index) => ({ label: `neuron ${index + 1}`, pid: neuron.pid })),
      { label: "client (this process)", pid: process.pid },
    ]);
    // A short warm-up, unmeasured: JIT, connections, first holds.
    await runPhase(Math.min(50, options.streams[0] ?? 50), { ...options, maxTokens: 5 }, target, meters);
    let anyLost = false;
    for (const streams of options.streams) {
      const report = await runPhase(streams, options, target, meters);
      printPhase(report);
      if (report.lost > 0) anyLost = true;
      const dead = processes.find((child) => child.exited);
      if (dead) throw new Error(`${dead.label} exited during the phase:\n${dead.output.slice(-3000)}`);
      await sleep(1000);
    }
    const served = await orchestratorNeurons(orchestratorHttp);
    process.stdout.write(
      `\njobs served by neuron: ${served.map((neuron) => `${neuron.name} ${neuron.jobsServed ?? "?"}`).join(", ")}\n`,
    );
    if (anyLost) process.exitCode = 1;
  } finally {
    for (const child of processes.reverse()) await child.stop();
    await rm(home, { recursive: true, force: true });
  }
}

await main();

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Where the fabric's time goes: cortex and a neuron in this process, wired as `helexa up` wires them, with clocks on each step.

import { mkdtemp, rm } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { type CortexStore, createDatabaseCortexStore, ensureLocalFabric, startCortex } from "@helexa/cortex";
import { openDatabase } from "@helexa/db";
import { generateTinyModel } from "@helexa/gguf";
import { createLogger } from "@helexa/log";
import { startNeuron } from "@helexa/neuron";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import OpenAI from "openai";
import { runBenchCommand } from "./bench-command.js";
import type { BenchOptions } from "./bench-options.js";
import { benchPrompt } from "./bench-prompts.js";
import { type CpuProfile, summarizeCpuProfile } from "./cpu-profile-summary.js";
import { streamDirect } from "./direct-stream.js";
import { freeLoopbackPort } from "./free-port.js";
import { instrumentRuntime } from "./instrumented-runtime.js";
import { median, quantile } from "./statistics.js";
import { type RequestTimeline, TimelineRecorder } from "./timeline-recorder.js";

function progress(message: string): void {
  process.stderr.write(`timeline: ${message}\n`);
}

/** The store `up` uses, with a clock on the calls the gateway makes before a job starts. */
function timedStore(
  store: CortexStore,
  recorder: TimelineRecorder,
  ledger: BenchOptions["ledger"],
): CortexStore {
  const hold: CortexStore["placeHold"] = (request) => {
    if (ledger === "off") return Promise.resolve();
    if (ledger === "on") return store.placeHold(request);
    return new Promise((resolve) => setTimeout(resolve, 2)).then(() => store.placeHold(request));
  };
  // Spread, so that whatever else the store offers passes through untouched.
  return {
    ...store,
    verifyApiKey: (key) => recorder.span("store.verifyApiKey", () => store.verifyApiKey(key)),
    modelPrice: (model) => recorder.span("store.modelPrice", () => store.modelPrice(model)),
    placeHold: (request) => recorder.span("store.placeHold", () => hold(request)),
    settle: (settlement) => (ledger === "off" ? Promise.resolve() : store.settle(settlement)),
  };
}

async function runTimeline(options: BenchOptions): Promise<boolean> {
  const workDir = await mkdtemp(join(tmpdir(), "helexa-timeline-"));
  const cleanups: Array<() => Promise<void>> = [() => rm(workDir, { recursive: true, force: true })];
  try {
    const modelId = `helexa-${options.preset}`;
    const modelPath = join(workDir, `${modelId}.gguf`);
    await generateTinyModel({ path: modelPath, preset: options.preset, seed: options.modelSeed });
    const recorder = new TimelineRecorder();
    const log = createLogger({ level: "warn" });

    const database = await openDatabase({ dataDir: join(workDir, "db") });
    cleanups.push(() => database.close());
    const credentials = await ensureLocalFabric({
      database,
      credentialsFile: join(workDir, "credentials.json"),
      initialCredits: 10_000_000,
    });
    const store = createDatabaseCortexStore({
      database,
      operatorShare: 0.7,
      newModelPrices: { promptPerMillion: 50_000, completionPerMillion: 100_000 },
      log,
    });
    const cortex = await startCortex({
      orchestratorSocket: { host: "127.0.0.1", port: await freeLoopbackPort() },
      gatewaySocket: { host: "127.0.0.1", port: await freeLoopbackPort() },
      store: timedStore(store, recorder, options.ledger),
      iceBindAddress: "127.0.0.1",
      log,
    });
    cleanups.push(() => cortex.close());
    const runtime = await createLlamaCppRuntime({
      models: [{ id: modelId, path: modelPath }],
      threads: options.threads,
      gpu: options.gpu === "off" ? false : options.gpu,
      onLog: () => {},
    });
    cleanups.push(async () => {
      await runtime[Symbol.asyncDispose]();
    });
    const neuron = await startNeuron({
      name: "timeline",
      runtime: instrumentRuntime(runtime, recorder),
      cortex: {
        url: cortex.orchestratorUrl ?? "",
        token: credentials.neuronToken,
        iceBindAddress: "127.0.0.1",
      },
      software: "helexa-bench-timeline/0.1.0",
      log,
    });
    cleanups.push(() => neuron.stop());
    for (let waited = 0; !cortex.registry.models().some((model) => model.id === modelId); waited += 50) {
      if (waited > 30_000) throw new Error("the neuron did not join within 30 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    progress(`cortex and neuron up in this process (${runtime.engine}, ${options.threads} threads)`);

    const client = new OpenAI({
      baseURL: `${cortex.gatewayUrl}/v1`,
      apiKey: credentials.apiKey,
      maxRetries: 0,
    });
    const loopDelay: Record<"direct" | "fabric", IntervalHistogram> = {
      direct: monitorEventLoopDelay({ resolution: 1 }),
      fabric: monitorEventLoopDelay({ resolution: 1 }),
    };
    const directFirstTokens: number[] = [];
    const directGaps: number[] = [];
    const fabricRequest = async (promptIndex: number) => {
      const timeline = recorder.begin();
      const stream = await client.chat.completions.create({
        model: modelId,
        messages: benchPrompt(promptIndex),
        max_tokens: options.maxTokens,
        temperature: 0,
        seed: options.seed,
        stream: true,
        stream_options: { include_usage: true },
      });
      recorder.mark("client.headers");
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content)
          timeline.clientChunks.push(performance.now() - timeline.startedAt);
      }
      recorder.mark("client.end");
      recorder.end();
    };
    const directRequest = async (promptIndex: number) => {
      const measurement = await streamDirect({
        runtime,
        model: modelId,
        messages: benchPrompt(promptIndex),
        maxTokens: options.maxTokens,
        seed: options.seed,
        promptIndex,
      });
      directFirstTokens.push(measurement.timeToFirstTokenMs);
      const times = measurement.chunkTimesMs;
      directGaps.push(...times.slice(1).map((time, index) => time - (times[index] as number)));
    };

    for (let index = 0; index < options.warmup; index++) {
      await directRequest(options.requests + index);
      await fabricRequest(options.requests + index);
    }
    recorder.finished.length = 0;
    directFirstTokens.length = 0;
    directGaps.length = 0;
    const profiler = options.profile ? new Session() : null;
    profiler?.connect();
    await profiler?.post("Profiler.enable");
    const profileTotals = new Map<string, number>();
    for (let index = 0; index < options.requests; index++) {
      for (const path of index % 2 === 0
        ? (["direct", "fabric"] as const)
        : (["fabric", "direct"] as const)) {
        const profiled = profiler !== null && path === "fabric";
        if (profiled) await profiler.post("Profiler.start");
        loopDelay[path].enable();
        await (path === "direct" ? directRequest(index) : fabricRequest(index));
        loopDelay[path].disable();
        if (profiled) {
          const { profile } = await profiler.post("Profiler.stop");
          for (const { group, microseconds } of summarizeCpuProfile(profile as CpuProfile)) {
            profileTotals.set(group, (profileTotals.get(group) ?? 0) + microseconds);
          }
        }
      }
    }
    profiler?.disconnect();
    process.stdout.write(
      formatTimeline({ options, timelines: recorder.finished, directFirstTokens, directGaps, loopDelay }),
    );
    if (profiler) process.stdout.write(formatProfile(profileTotals, recorder.finished));
    return true;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

function formatTimeline(report: {
  options: BenchOptions;
  timelines: RequestTimeline[];
  directFirstTokens: number[];
  directGaps: number[];
  loopDelay: Record<"direct" | "fabric", IntervalHistogram>;
}): string {
  const { timelines } = report;
  const column = (values: Array<number | undefined>) => {
    const present = values.filter((value): value is number => value !== undefined);
    return present.length === 0 ? "      -" : median(present).toFixed(2).padStart(7);
  };
  const spanRow = (label: string, name: string) => {
    const spans = timelines.map((timeline) => timeline.spans.get(name));
    return `  ${label.padEnd(44)} ${column(spans.map((span) => span?.start))} ${column(spans.map((span) => span?.end))}  (${spans.filter(Boolean).length}/${timelines.length} requests)`;
  };
  const markRow = (label: string, values: Array<number | undefined>) =>
    `  ${label.padEnd(44)} ${column(values)}`;
  const transit = timelines
    .flatMap((timeline) =>
      timeline.clientChunks.map((arrival, index) => arrival - (timeline.runtimeDeltas[index] ?? Number.NaN)),
    )
    .filter(Number.isFinite);
  const waits = timelines.flatMap((timeline) => timeline.consumerWaits);
  const runtimeFirstToken = timelines.map((timeline) => {
    const start = timeline.marks.get("runtime.doStream");
    const first = timeline.runtimeDeltas[0];
    return start === undefined || first === undefined ? undefined : first - start;
  });
  const gaps = (times: number[]) => times.slice(1).map((time, index) => time - (times[index] as number));
  const holdGated = timelines.filter((timeline) => {
    const hold = timeline.spans.get("store.placeHold");
    const first = timeline.runtimeDeltas[0];
    return hold !== undefined && first !== undefined && hold.end > first;
  }).length;
  const loop = (histogram: IntervalHistogram) =>
    `median ${(histogram.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(2)} ms (sampled every 1 ms)`;
  return [
    "helexa fabric timeline: cortex and one neuron in this process, as `helexa up` runs them; client in the same process",
    `${timelines.length} streamed requests, max_tokens ${report.options.maxTokens}, ${report.options.threads} threads, greedy, ledger ${report.options.ledger}; medians in ms from the client's call`,
    "",
    `  ${"".padEnd(44)} ${"start".padStart(7)} ${"end".padStart(7)}`,
    spanRow("gateway: authenticate (store.verifyApiKey)", "store.verifyApiKey"),
    spanRow("gateway: model price (store.modelPrice)", "store.modelPrice"),
    spanRow("gateway: credit hold (store.placeHold)", "store.placeHold"),
    markRow(
      "neuron: runtime.doStream called (job.start in)",
      timelines.map((timeline) => timeline.marks.get("runtime.doStream")),
    ),
    markRow(
      "neuron: runtime's first text delta",
      timelines.map((timeline) => timeline.runtimeDeltas[0]),
    ),
    markRow(
      "client: response headers",
      timelines.map((timeline) => timeline.marks.get("client.headers")),
    ),
    markRow(
      "client: first text chunk (TTFT)",
      timelines.map((timeline) => timeline.clientChunks[0]),
    ),
    markRow(
      "client: end of stream",
      timelines.map((timeline) => timeline.marks.get("client.end")),
    ),
    "",
    `  runtime's own TTFT in the neuron (doStream -> first delta)  ${column(runtimeFirstToken)} ms; same runtime called directly: ${column(report.directFirstTokens)} ms`,
    `  first token waited for the credit hold                      ${holdGated}/${timelines.length} requests`,
    `  delta transit, runtime yield -> client chunk                median ${column(transit)} ms, p90 ${transit.length ? quantile(transit, 0.9).toFixed(2) : "-"} ms`,
    `  neuron's wait before asking the runtime for the next token  median ${column(waits)} ms, p90 ${waits.length ? quantile(waits, 0.9).toFixed(3) : "-"} ms`,
    `  gap between runtime deltas in the neuron                    median ${column(timelines.flatMap((timeline) => gaps(timeline.runtimeDeltas)))} ms`,
    `  gap between chunks at the client                            median ${column(timelines.flatMap((timeline) => gaps(timeline.clientChunks)))} ms`,
    `  gap between deltas, same runtime called directly            median ${column(report.directGaps)} ms`,
    `  event loop delay during fabric requests                     ${loop(report.loopDelay.fabric)}`,
    `  event loop delay during direct requests                     ${loop(report.loopDelay.direct)}`,
    "",
  ].join("\n");
}

/** Everything in this process runs on one thread: client, gateway, neuron and ledger share what this lists. */
function formatProfile(totals: Map<string, number>, timelines: RequestTimeline[]): string {
  const chunks = timelines.reduce((sum, timeline) => sum + timeline.clientChunks.length, 0);
  const rows = [...totals]
    .filter(([group]) => group !== "(idle)" && group !== "(profiler)")
    .sort((a, b) => b[1] - a[1]);
  const busy = rows.reduce((sum, [, microseconds]) => sum + microseconds, 0);
  return [
    `main thread during the fabric requests, by package (sampled by V8; microseconds per text chunk, ${chunks} chunks; profiling slows the run)`,
    `  ${(busy / chunks).toFixed(0).padStart(7)}  all of it (idle time and the profiler's own left out)`,
    ...rows
      .slice(0, 20)
      .map(([group, microseconds]) => `  ${(microseconds / chunks).toFixed(1).padStart(7)}  ${group}`),
    "",
  ].join("\n");
}

runBenchCommand({ name: "timeline", run: runTimeline });

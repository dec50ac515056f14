// SPDX-License-Identifier: PolyForm-Shield-1.0
// The gateway-overhead benchmark: the same greedy generations straight from the runtime and through the fabric.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateTinyModel } from "@helexa/gguf";
import type { LanguageModelRuntime } from "@helexa/runtime";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import OpenAI from "openai";
import { runBenchCommand } from "./bench-command.js";
import type { BenchOptions } from "./bench-options.js";
import { benchPrompt } from "./bench-prompts.js";
import { formatBenchReport } from "./bench-report.js";
import { summarizeBench } from "./bench-summary.js";
import { streamDirect } from "./direct-stream.js";
import { type FabricProcess, startFabricProcess } from "./fabric-process.js";
import { streamFabric } from "./fabric-stream.js";
import { type BenchPath, decodeTokensPerSecond, type Measurement } from "./measurement.js";
import { ProcessCpuMeter } from "./process-cpu-meter.js";

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function runBench(options: BenchOptions): Promise<boolean> {
  const began = performance.now();
  const workDir = await mkdtemp(join(tmpdir(), "helexa-bench-"));
  let runtime: LanguageModelRuntime | null = null;
  let fabric: FabricProcess | null = null;
  try {
    // The neuron names a model after its file, so both paths answer to the same id.
    const modelId = `helexa-${options.preset}`;
    const modelPath = join(workDir, `${modelId}.gguf`);
    const model = await generateTinyModel({
      path: modelPath,
      preset: options.preset,
      seed: options.modelSeed,
    });
    progress(`generated ${modelPath} (${(model.parameters / 1e6).toFixed(1)}M parameters)`);

    runtime = await createLlamaCppRuntime({
      models: [{ id: modelId, path: modelPath }],
      threads: options.threads,
      gpu: options.gpu === "off" ? false : options.gpu,
      onLog: () => {},
    });
    progress(`direct runtime loaded: ${runtime.engine}`);
    const fabricStarted = performance.now();
    fabric = await startFabricProcess({
      modelPath,
      home: join(workDir, "home"),
      threads: options.fabricThreads ?? options.threads,
      gpu: options.gpu,
    });
    progress(
      `fabric up in ${Math.round(performance.now() - fabricStarted)} ms: ${fabric.gatewayUrl} (pid ${fabric.pid})`,
    );
    if (fabric.modelId !== modelId) throw new Error(`the fabric serves ${fabric.modelId}, not ${modelId}`);

    const client = new OpenAI({
      baseURL: fabric.gatewayUrl,
      apiKey: fabric.apiKey,
      maxRetries: 0,
      timeout: 120_000,
    });
    const directRuntime = runtime;
    const run = (path: BenchPath, promptIndex: number): Promise<Measurement> => {
      const request = {
        model: modelId,
        messages: benchPrompt(promptIndex),
        maxTokens: options.maxTokens,
        seed: options.seed,
        promptIndex,
      };
      return path === "direct"
        ? streamDirect({ runtime: directRuntime, ...request })
        : streamFabric({ client, ...request });
    };

    // Warm-up prompts come after the measured ones, so they never share a prompt with them.
    for (let index = 0; index < options.warmup; index++) {
      const warmupStarted = performance.now();
      for (const path of ["direct", "fabric"] as const) await run(path, options.requests + index);
      progress(`warm-up ${index + 1}/${options.warmup}: ${Math.round(performance.now() - warmupStarted)} ms`);
    }

    // One request on each path per round, never two at once, and the order flips every round
    // (direct first, then fabric first) so that neither path always runs on a machine the other just warmed.
    const meters = { bench: new ProcessCpuMeter(process.pid), fabric: new ProcessCpuMeter(fabric.pid) };
    const measure = async (path: BenchPath, promptIndex: number): Promise<Measurement> => {
      const before = { bench: meters.bench.read(), fabric: meters.fabric.read() };
      const measurement = await run(path, promptIndex);
      const after = { bench: meters.bench.read(), fabric: meters.fabric.read() };
      if (before.bench && before.fabric && after.bench && after.fabric) {
        measurement.cpu = {
          bench: meters.bench.between(before.bench, after.bench),
          fabric: meters.fabric.between(before.fabric, after.fabric),
        };
      }
      return measurement;
    };
    const measurements: Measurement[] = [];
    for (let index = 0; index < options.requests; index++) {
      const order: BenchPath[] = index % 2 === 0 ? ["direct", "fabric"] : ["fabric", "direct"];
      for (const path of order) {
        const measurement = await measure(path, index);
        measurements.push(measurement);
        if (options.verbose) {
          progress(
            `prompt ${String(index).padStart(2)} ${path.padEnd(6)} ttft ${measurement.timeToFirstTokenMs.toFixed(2).padStart(7)} ms  ` +
              `decode ${decodeTokensPerSecond(measurement).toFixed(1).padStart(6)} tok/s  ` +
              `${measurement.completionTokens} tokens in ${measurement.durationMs.toFixed(1)} ms`,
          );
        }
      }
    }

    const exit = await fabric.stop();
    progress(`fabric stopped (${exit})`);
    const summary = summarizeBench(measurements);
    process.stdout.write(
      formatBenchReport({
        summary,
        setup: [
          "helexa gateway overhead: the runtime called directly vs. the openai SDK -> gateway -> WebRTC -> neuron",
          `model      ${modelId} (generated, preset ${options.preset}, weights seed ${options.modelSeed}, ${(model.parameters / 1e6).toFixed(1)}M parameters)`,
          `engine     ${runtime.engine}, ${
            options.fabricThreads === undefined || options.fabricThreads === options.threads
              ? `${options.threads} threads on both paths`
              : `${options.threads} threads direct, ${options.fabricThreads} in the neuron (TEXT MAY DIFFER)`
          }`,
          `requests   ${options.requests} per path after ${options.warmup} warm-up, max_tokens ${options.maxTokens}, temperature 0, seed ${options.seed}, streamed`,
          "order      one path at a time, alternating per prompt (direct first on even prompts, fabric first on odd)",
          "TTFT       call -> first text chunk; decode tokens/s = (completion tokens - 1) / (end - first chunk);",
          "           end-to-end tokens/s = completion tokens / (end - call)",
          `wall time  ${((performance.now() - began) / 1000).toFixed(1)} s`,
        ],
      }),
    );
    // Greedy decoding must give the same text and usage on both paths: a difference is a bug, not noise.
    return summary.mismatches.length === 0;
  } finally {
    await fabric?.stop();
    await runtime?.[Symbol.asyncDispose]();
    await rm(workDir, { recursive: true, force: true });
  }
}

runBenchCommand({ name: "bench", run: runBench });

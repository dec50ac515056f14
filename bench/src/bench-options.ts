// SPDX-License-Identifier: PolyForm-Shield-1.0
// The benchmark's settings, from flags and BENCH_* variables: the one place that reads either.

import { parseArgs } from "node:util";
import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();

export const benchOptionsSchema = z.object({
  /** Measured requests per path; each prompt runs once on each path. */
  requests: positiveInt.default(20),
  maxTokens: positiveInt.default(128),
  /** Unmeasured requests per path first: the first llama.cpp evaluation and the JIT are much slower. */
  warmup: z.coerce.number().int().nonnegative().default(2),
  preset: z.enum(["test", "bench"]).default("bench"),
  /** Weights seed of the generated model. */
  modelSeed: z.coerce.number().int().nonnegative().default(1),
  /** Sampling seed sent with every request (greedy decoding ignores it, but both paths get the same). */
  seed: z.coerce.number().int().nonnegative().default(42),
  threads: positiveInt.default(2),
  /** The neuron's threads when they should differ from the direct runtime's: what-if runs for `up`'s default. */
  fabricThreads: positiveInt.optional(),
  gpu: z.enum(["auto", "cuda", "vulkan", "metal", "off"]).default("auto"),
  /**
   * Timeline only: "off" answers the credit hold at once and skips settlement, to show what the ledger
   * costs; "deferred" starts each hold 2 ms late, as a ledger flush window would, so the job reaches the neuron first.
   */
  ledger: z.enum(["on", "off", "deferred"]).default("on"),
  /** Timeline only: sample the main thread's CPU during the fabric requests and sum it by package. */
  profile: z.stringbool().default(false),
  /** Print one line per measured request. */
  verbose: z.stringbool().default(false),
});
export type BenchOptions = z.infer<typeof benchOptionsSchema>;

interface Setting {
  flag: string;
  variable: string;
  boolean?: true;
}

const settings: Record<keyof BenchOptions, Setting> = {
  requests: { flag: "requests", variable: "BENCH_REQUESTS" },
  maxTokens: { flag: "max-tokens", variable: "BENCH_MAX_TOKENS" },
  warmup: { flag: "warmup", variable: "BENCH_WARMUP" },
  preset: { flag: "preset", variable: "BENCH_PRESET" },
  modelSeed: { flag: "model-seed", variable: "BENCH_MODEL_SEED" },
  seed: { flag: "seed", variable: "BENCH_SEED" },
  threads: { flag: "threads", variable: "BENCH_THREADS" },
  fabricThreads: { flag: "fabric-threads", variable: "BENCH_FABRIC_THREADS" },
  gpu: { flag: "gpu", variable: "BENCH_GPU" },
  ledger: { flag: "ledger", variable: "BENCH_LEDGER" },
  profile: { flag: "profile", variable: "BENCH_PROFILE", boolean: true },
  verbose: { flag: "verbose", variable: "BENCH_VERBOSE", boolean: true },
};

export const benchUsage = `Usage: npm run bench -w bench -- [options]      (or: npm run timeline -w bench -- [options])

  --requests N          measured requests per path (default 20; BENCH_REQUESTS)
  --max-tokens N        max_tokens of every request (default 128; BENCH_MAX_TOKENS)
  --warmup N            unmeasured requests per path first (default 2; BENCH_WARMUP)
  --preset NAME         generated model: bench (~35M parameters) or test (tiny) (default bench; BENCH_PRESET)
  --model-seed N        weights seed of the generated model (default 1; BENCH_MODEL_SEED)
  --seed N              sampling seed sent with every request (default 42; BENCH_SEED)
  --threads N           CPU threads for inference on both paths (default 2; BENCH_THREADS)
  --fabric-threads N    the neuron's threads only, to try another default for helexa up (BENCH_FABRIC_THREADS)
  --gpu MODE            auto, cuda, vulkan, metal or off, on both paths (default auto; BENCH_GPU)
  --ledger MODE         timeline only: on; off (no hold, no settlement); deferred (hold 2 ms late) (BENCH_LEDGER)
  --profile             timeline only: CPU profile of the fabric requests, by package (BENCH_PROFILE=1)
  --verbose             one line per measured request (BENCH_VERBOSE=1)
  --help                this text
`;

export class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}

/** Flags win over the environment; returns null when --help was asked for. */
export function parseBenchOptions(input: {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}): BenchOptions | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...input.argv],
      options: {
        help: { type: "boolean" },
        ...Object.fromEntries(
          Object.values(settings).map((setting) => [
            setting.flag,
            { type: setting.boolean ? "boolean" : "string" } as const,
          ]),
        ),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BenchUsageError((error as Error).message.split("\n")[0] ?? String(error));
  }
  if (values.help === true) return null;
  const raw: Record<string, string> = {};
  for (const [key, setting] of Object.entries(settings)) {
    const fromFlag = values[setting.flag];
    const value =
      typeof fromFlag === "boolean" ? String(fromFlag) : (fromFlag ?? input.env[setting.variable]);
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const parsed = benchOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const setting = settings[issue?.path[0] as keyof BenchOptions] as Setting | undefined;
    const where = setting ? `--${setting.flag} (${setting.variable})` : "options";
    throw new BenchUsageError(`${where}: ${issue?.message ?? parsed.error.message}`);
  }
  return parsed.data;
}

/** The options this process was started with. */
export function readBenchOptions(): BenchOptions | null {
  return parseBenchOptions({ argv: process.argv.slice(2), env: process.env });
}

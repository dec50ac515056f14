// SPDX-License-Identifier: PolyForm-Shield-1.0
// `helexa model generate`: write the project's tiny llama-architecture GGUF, for tests and offline use.

import { resolve } from "node:path";
import { generateTinyModel, type TinyModelPreset } from "@helexa/gguf";
import { helpFor, parseFlags, UsageError } from "../flags.js";

const summary = `Writes a tiny llama-architecture GGUF model with seeded weights, a byte-level BPE tokenizer and a
ChatML template. Its text is nonsense, but any llama.cpp-based engine loads it, and greedy output
is the same on every machine: for tests, benchmarks and offline use.`;

export async function runModelCommand(argv: string[]): Promise<void> {
  const [subcommand, ...rest] = argv;
  if (subcommand !== "generate") {
    throw new UsageError(
      `unknown model command ${JSON.stringify(subcommand ?? "")}: try helexa model generate --help`,
    );
  }
  const flags = parseFlags("model generate", rest);
  if (flags.help) {
    process.stdout.write(helpFor("model generate", summary));
    return;
  }
  const preset = String(flags.command.preset ?? "test");
  if (preset !== "test" && preset !== "bench")
    throw new UsageError(`--preset must be test or bench, got ${JSON.stringify(preset)}`);
  const seed = Number(flags.command.seed ?? 1);
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a whole number, got ${flags.command.seed}`);
  const out = resolve(String(flags.command.out ?? `helexa-tiny-${preset}.gguf`));
  const model = await generateTinyModel({ path: out, preset: preset as TinyModelPreset, seed });
  process.stdout.write(`${model.path}  ${model.parameters} parameters, ${model.bytes} bytes\n`);
}

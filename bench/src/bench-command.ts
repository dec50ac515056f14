// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs one of the benchmark's commands: options, --help, usage errors and the exit code, the same for each.

import { type BenchOptions, BenchUsageError, benchUsage, readBenchOptions } from "./bench-options.js";

export interface BenchCommandOptions {
  /** Prefix of every message on stderr. */
  name: string;
  /** False makes the exit code 1: a check failed. */
  run: (options: BenchOptions) => Promise<boolean>;
}

export function runBenchCommand(command: BenchCommandOptions): void {
  const main = async () => {
    let options: BenchOptions | null;
    try {
      options = readBenchOptions();
    } catch (error) {
      if (!(error instanceof BenchUsageError)) throw error;
      process.stderr.write(`${command.name}: ${error.message}\n\n${benchUsage}`);
      process.exitCode = 2;
      return;
    }
    if (!options) {
      process.stdout.write(benchUsage);
      return;
    }
    if (!(await command.run(options))) process.exitCode = 1;
  };
  main().catch((error: unknown) => {
    process.stderr.write(`${command.name}: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}

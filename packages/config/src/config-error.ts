// SPDX-License-Identifier: PolyForm-Shield-1.0
// The error of a configuration that cannot be used: one line for the user, exit code 2 for the CLI.

export interface ConfigErrorOptions {
  /** The dotted config key at fault, when one is. */
  key?: string | null;
  /** Where the bad value came from: "default", "config file <path>", an environment variable, "flag --x". */
  source?: string | null;
  cause?: unknown;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** Usage errors exit with 2, as getopt-style tools do. */
  readonly exitCode = 2;
  readonly key: string | null;
  readonly source: string | null;

  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key ?? null;
    this.source = options.source ?? null;
  }
}

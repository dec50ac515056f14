// SPDX-License-Identifier: PolyForm-Shield-1.0
// The one place in helexa that reads process.env; everything else receives values through loadConfig.

export type Environment = Readonly<Record<string, string | undefined>>;

export function readProcessEnvironment(): Environment {
  return process.env;
}

#!/usr/bin/env node
// SPDX-License-Identifier: PolyForm-Shield-1.0
// The `helexa` command: parse, load config, delegate to cortex, neuron or up.

import { ConfigError } from "@helexa/config";
import { CortexConfigurationError } from "@helexa/cortex";
import { HelexaError } from "@helexa/protocol";
import { runAdminCommand } from "./commands/admin.js";
import { runCortexCommand } from "./commands/cortex.js";
import { runModelCommand } from "./commands/model.js";
import { runNeuronCommand } from "./commands/neuron.js";
import { runUpCommand } from "./commands/up.js";
import { UsageError } from "./flags.js";

const usage = `Usage: helexa <command> [options]

Commands:
  up        cortex and one neuron on this machine: the quick start
  cortex    the control plane (orchestrator, gateway, portal)
  neuron    serve a model to a cortex
  admin     create an admin account for the portal
  model     generate the project's tiny test model

Run helexa <command> --help for its options.
`;

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  up: runUpCommand,
  cortex: runCortexCommand,
  neuron: runNeuronCommand,
  model: runModelCommand,
  admin: runAdminCommand,
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage);
    return;
  }
  if (name === "--version") {
    process.stdout.write("helexa 0.1.0\n");
    return;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${usage}`);
  await command(rest);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof ConfigError ||
    error instanceof UsageError ||
    error instanceof CortexConfigurationError
  ) {
    process.stderr.write(`helexa: ${error.message}\n`);
    process.exit(2);
  }
  if (HelexaError.is(error)) {
    process.stderr.write(`helexa: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `helexa: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

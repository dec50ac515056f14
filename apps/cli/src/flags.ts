// SPDX-License-Identifier: PolyForm-Shield-1.0
// Every command-line flag: which commands take it, the config key it sets, and its help line.

import { parseArgs } from "node:util";

export type CommandName = "cortex" | "neuron" | "up" | "model generate" | "admin create";

export interface FlagSpec {
  name: string;
  /** The config key the flag sets; none for flags that only steer the command. */
  configKey?: string;
  kind: "string" | "boolean";
  value?: string;
  help: string;
  commands: readonly CommandName[];
}

const all: readonly CommandName[] = ["cortex", "neuron", "up"];
/** Commands that only open the database: they take where helexa lives and how loud to be. */
const withHome: readonly CommandName[] = [...all, "admin create"];

export const flagSpecs: readonly FlagSpec[] = [
  { name: "help", kind: "boolean", help: "show this help", commands: [...withHome, "model generate"] },
  {
    name: "config",
    kind: "string",
    value: "FILE",
    help: "config file (JSON; default <home>/config.json)",
    commands: withHome,
  },
  {
    name: "home",
    configKey: "home",
    kind: "string",
    value: "DIR",
    help: "helexa home directory (default ~/.helexa)",
    commands: withHome,
  },
  {
    name: "log-level",
    configKey: "log.level",
    kind: "string",
    value: "LEVEL",
    help: "debug, info, warn, error or silent",
    commands: withHome,
  },
  {
    name: "email",
    kind: "string",
    value: "EMAIL",
    help: "the admin's email (they sign in to the portal with it)",
    commands: ["admin create"],
  },
  {
    name: "password-stdin",
    kind: "boolean",
    help: "read the password from standard input instead of asking",
    commands: ["admin create"],
  },
  {
    name: "orchestrator-socket",
    configKey: "cortex.orchestratorSocket",
    kind: "string",
    value: "HOST:PORT",
    help: "serve the orchestrator (neurons dial it) here, e.g. 0.0.0.0:8040",
    commands: ["cortex", "up"],
  },
  {
    name: "gateway-socket",
    configKey: "cortex.gatewaySocket",
    kind: "string",
    value: "HOST:PORT",
    help: "serve the OpenAI-compatible gateway here, e.g. 0.0.0.0:8080",
    commands: ["cortex", "up"],
  },
  {
    name: "portal-socket",
    configKey: "cortex.portalSocket",
    kind: "string",
    value: "HOST:PORT",
    help: "serve the portal here, e.g. 0.0.0.0:8091 (the portal comes in a later release)",
    commands: ["cortex", "up"],
  },
  {
    name: "database-url",
    configKey: "database.url",
    kind: "string",
    value: "URL",
    help: "PostgreSQL URL; embedded PGlite under <home>/db when absent",
    commands: ["cortex", "up"],
  },
  {
    name: "ice-servers",
    configKey: "ice.servers",
    kind: "string",
    value: "URLS",
    help: "STUN/TURN servers: comma-separated stun:/turn: URLs or a JSON list",
    commands: all,
  },
  {
    name: "ice-bind-address",
    configKey: "ice.bindAddress",
    kind: "string",
    value: "IP",
    help: "local address WebRTC gathers candidates on",
    commands: all,
  },
  {
    name: "cortex",
    configKey: "neuron.cortexUrl",
    kind: "string",
    value: "URL",
    help: "cortex's orchestrator, e.g. ws://cortex.example:8040",
    commands: ["neuron"],
  },
  {
    name: "token",
    configKey: "neuron.token",
    kind: "string",
    value: "TOKEN",
    help: "this neuron's token (nt-hx-...), from its operator's account",
    commands: ["neuron"],
  },
  {
    name: "name",
    configKey: "neuron.name",
    kind: "string",
    value: "NAME",
    help: "a name for this neuron (default: the host name)",
    commands: ["neuron"],
  },
  {
    name: "control-socket",
    configKey: "neuron.controlSocket",
    kind: "string",
    value: "HOST:PORT",
    help: "health and status socket (default 0.0.0.0:9050)",
    commands: ["neuron", "up"],
  },
  {
    name: "api-socket",
    configKey: "neuron.apiSocket",
    kind: "string",
    value: "HOST:PORT",
    help: "this neuron's own OpenAI API (default 127.0.0.1:8060)",
    commands: ["neuron", "up"],
  },
  {
    name: "models-dir",
    configKey: "neuron.modelsDir",
    kind: "string",
    value: "DIR",
    help: "where model files are kept (default <home>/models)",
    commands: ["neuron", "up"],
  },
  {
    name: "model",
    configKey: "neuron.model",
    kind: "string",
    value: "PATH|URL",
    help: "a GGUF model file or an http(s) URL to fetch",
    commands: ["neuron", "up"],
  },
  {
    name: "threads",
    configKey: "neuron.threads",
    kind: "string",
    value: "N",
    help: "CPU threads for inference (default: all cores)",
    commands: ["neuron", "up"],
  },
  {
    name: "slots",
    configKey: "neuron.slots",
    kind: "string",
    value: "N",
    help: "generations at once (default 1)",
    commands: ["neuron", "up"],
  },
  {
    name: "gpu",
    configKey: "neuron.gpu",
    kind: "string",
    value: "MODE",
    help: "auto, cuda, vulkan, metal or off",
    commands: ["neuron", "up"],
  },
  {
    name: "drain-timeout",
    configKey: "neuron.drainTimeoutSeconds",
    kind: "string",
    value: "SECONDS",
    help: "on SIGTERM, how long running jobs may take to finish before the neuron exits (default 60)",
    commands: ["neuron", "up"],
  },
  {
    name: "memory-budget",
    configKey: "neuron.memoryBudgetBytes",
    kind: "string",
    value: "BYTES",
    help: "most bytes of models loaded at once, e.g. 8GB (default: half the machine's memory)",
    commands: ["neuron"],
  },
  {
    name: "provisioning",
    configKey: "neuron.provisioning",
    kind: "string",
    value: "on|off",
    help: "load and unload models when cortex asks (default on; llama.cpp neurons)",
    commands: ["neuron"],
  },
  {
    name: "upstream-url",
    configKey: "neuron.upstreamUrl",
    kind: "string",
    value: "URL",
    help: "serve an OpenAI-compatible engine (llama-server, vLLM, Ollama) instead of a model file",
    commands: ["neuron"],
  },
  {
    name: "upstream-api-key",
    configKey: "neuron.upstreamApiKey",
    kind: "string",
    value: "KEY",
    help: "bearer key for the upstream engine",
    commands: ["neuron"],
  },
  {
    name: "synthetic-load-test-runtime",
    configKey: "neuron.syntheticLoadTestTokensPerSecond",
    kind: "string",
    value: "TOKENS_PER_SECOND",
    help: "for load tests only: no model, serve synthetic-load-test at this rate per stream",
    commands: ["neuron"],
  },
  {
    name: "preset",
    kind: "string",
    value: "NAME",
    help: "test (tiny, fast) or bench (~35M parameters); default test",
    commands: ["model generate"],
  },
  {
    name: "seed",
    kind: "string",
    value: "N",
    help: "weights seed (default 1)",
    commands: ["model generate"],
  },
  {
    name: "out",
    kind: "string",
    value: "PATH",
    help: "where to write the .gguf file",
    commands: ["model generate"],
  },
];

export class UsageError extends Error {
  override readonly name = "UsageError";
  readonly exitCode = 2;
}

export interface ParsedFlags {
  /** Dotted config keys to the values given, for loadConfig. */
  config: Record<string, unknown>;
  /** Flags that steer the command itself. */
  command: Record<string, string | boolean>;
  help: boolean;
  configFile: string | undefined;
}

export function parseFlags(command: CommandName, argv: string[]): ParsedFlags {
  const specs = flagSpecs.filter((spec) => spec.commands.includes(command));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(specs.map((spec) => [spec.name, { type: spec.kind }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} (see helexa ${command} --help)`);
  }
  const parsed: ParsedFlags = { config: {}, command: {}, help: values.help === true, configFile: undefined };
  for (const spec of specs) {
    const value = values[spec.name];
    if (value === undefined || spec.name === "help") continue;
    if (spec.name === "config") parsed.configFile = String(value);
    else if (spec.configKey) parsed.config[spec.configKey] = value;
    else parsed.command[spec.name] = value;
  }
  return parsed;
}

export function helpFor(command: CommandName, summary: string): string {
  const specs = flagSpecs.filter((spec) => spec.commands.includes(command));
  const left = (spec: FlagSpec) => `--${spec.name}${spec.value ? ` ${spec.value}` : ""}`;
  const width = Math.max(...specs.map((spec) => left(spec).length)) + 2;
  const lines = specs.map((spec) => `  ${left(spec).padEnd(width)}${spec.help}`);
  const environment =
    command === "model generate"
      ? ""
      : "\nEvery setting can also come from the config file or a HELEXA_* variable (e.g. HELEXA_NEURON_THREADS);\nflags win over the environment, which wins over the file.\n";
  return `Usage: helexa ${command} [options]\n\n${summary}\n\nOptions:\n${lines.join("\n")}\n${environment}`;
}

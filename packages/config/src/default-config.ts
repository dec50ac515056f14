// SPDX-License-Identifier: PolyForm-Shield-1.0
// The bottom layer of the configuration: what helexa uses when nothing else says otherwise.

import { availableParallelism, homedir, hostname } from "node:os";
import { join } from "node:path";

export function defaultHomeDirectory(): string {
  return join(homedir(), ".helexa");
}

/** The cortex sockets `helexa up` listens on; a plain `helexa cortex` runs only the roles given a socket. */
export const upCortexSockets = {
  orchestratorSocket: "127.0.0.1:8040",
  gatewaySocket: "127.0.0.1:8080",
  portalSocket: "127.0.0.1:8091",
} as const;

export interface DefaultConfigOptions {
  /** The helexa home the other layers settled on; paths below it follow it. */
  home: string;
  /** Adds the cortex sockets of `helexa up`. */
  includeUpDefaults?: boolean;
}

/** Default values by dotted key; keys absent here have no default (optional, or a role that stays off). */
export function defaultConfigValues(options: DefaultConfigOptions): Record<string, unknown> {
  const values: Record<string, unknown> = {
    home: options.home,
    "ice.servers": [],
    "neuron.name": hostname() || "neuron",
    "neuron.controlSocket": "0.0.0.0:9050",
    "neuron.apiSocket": "127.0.0.1:8060",
    "neuron.modelsDir": join(options.home, "models"),
    "neuron.threads": availableParallelism(),
    "neuron.slots": 1,
    "neuron.gpu": "auto",
    "neuron.drainTimeoutSeconds": 60,
    "neuron.provisioning": true,
    "ledger.operatorShare": 0.7,
    "ledger.initialCredits": 10_000_000,
    "cortex.queueLimit": 512,
    "cortex.queueTimeoutSeconds": 30,
    "cortex.modelsDir": join(options.home, "models"),
    "portal.mailFrom": "helexa <no-reply@helexa.localhost>",
    "log.level": "info",
    "log.json": false,
  };
  if (options.includeUpDefaults) {
    for (const [name, socket] of Object.entries(upCortexSockets)) values[`cortex.${name}`] = socket;
    // cortex shares the machine with the neuron: leave it a core, or llama.cpp's spinning threads and
    // the gateway's JavaScript fight over every core (measured: 0.36x tokens/s on 2 cores, 0.89x with one left).
    values["neuron.threads"] = Math.max(1, availableParallelism() - 1);
    // Everything is on this machine: its control socket need not face the network.
    values["neuron.controlSocket"] = "127.0.0.1:9050";
  }
  return values;
}

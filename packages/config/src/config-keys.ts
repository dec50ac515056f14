// SPDX-License-Identifier: PolyForm-Shield-1.0
// The list of config keys, read off the schema, with the environment variable each one answers to.

import { z } from "zod";
import { configSchema } from "./config-schema.js";

export interface ConfigKey {
  /** Dotted path in camelCase, as in the config file: "neuron.threads". */
  path: string;
  /** HELEXA_<SECTION>_<KEY> in upper snake case: "HELEXA_NEURON_THREADS". */
  environmentVariable: string;
}

function upperSnake(segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

export function environmentVariableFor(path: string): string {
  return `HELEXA_${path.split(".").map(upperSnake).join("_")}`;
}

function collectKeys(schema: z.ZodObject, prefix: string): ConfigKey[] {
  return Object.entries(schema.shape).flatMap(([name, child]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    if (child instanceof z.ZodObject) return collectKeys(child, path);
    return [{ path, environmentVariable: environmentVariableFor(path) }];
  });
}

export const configKeys: readonly ConfigKey[] = collectKeys(configSchema, "");

/** The sections of the config (objects in the schema), by dotted path. */
export const configSections: ReadonlySet<string> = new Set(
  configKeys.flatMap((key) => {
    const segments = key.path.split(".");
    return segments.slice(0, -1).map((_, index) => segments.slice(0, index + 1).join("."));
  }),
);

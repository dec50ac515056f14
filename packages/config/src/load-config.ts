// SPDX-License-Identifier: PolyForm-Shield-1.0
// Layered loading of the config: defaults < config file < HELEXA_* environment < flags, validated once.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { ConfigError } from "./config-error.js";
import { configKeys, configSections } from "./config-keys.js";
import { type Config, configSchema, secretConfigKeys } from "./config-schema.js";
import { defaultConfigValues, defaultHomeDirectory } from "./default-config.js";
import { type Environment, readProcessEnvironment } from "./environment.js";

export interface LoadConfigOptions {
  /**
   * Flags as the CLI parsed them. Keys are dotted paths whose segments are camelCase or kebab-case
   * ("neuron.threads", "cortex.gateway-socket"), or nested objects; undefined values are skipped.
   */
  flags?: Record<string, unknown>;
  /** How the CLI spells each flag, by dotted config key ("neuron.threads" → "threads"), for error messages. */
  flagNames?: Record<string, string>;
  /** Defaults to process.env. */
  environment?: Environment;
  /** A JSON config file; defaults to HELEXA_CONFIG, then <home>/config.json when it exists. */
  configFile?: string;
  /** Adds the defaults of `helexa up` (the three cortex sockets). */
  includeUpDefaults?: boolean;
  /** Unknown HELEXA_* variables are reported here, not fatal; defaults to a line on stderr. */
  onWarning?: (message: string) => void;
}

interface Setting {
  value: unknown;
  /** Where the value came from, as error messages name it. */
  source: string;
}

type Settings = Map<string, Setting>;

const leafKeys = new Set(configKeys.map((key) => key.path));
const configFileVariable = "HELEXA_CONFIG";
/**
 * Variables other tools already name (every PostgreSQL tool reads DATABASE_URL, Stripe's docs say
 * STRIPE_SECRET_KEY): each is read as its config key, and the HELEXA_ variable wins over it.
 */
const environmentAliases: ReadonlyArray<readonly [variable: string, path: string]> = [
  ["DATABASE_URL", "database.url"],
  ["SMTP_URL", "portal.smtpUrl"],
  ["STRIPE_SECRET_KEY", "portal.stripeSecretKey"],
  ["STRIPE_WEBHOOK_SECRET", "portal.stripeWebhookSecret"],
  ["GITHUB_ID", "portal.githubClientId"],
  ["GITHUB_SECRET", "portal.githubClientSecret"],
  ["GOOGLE_ID", "portal.googleClientId"],
  ["GOOGLE_SECRET", "portal.googleClientSecret"],
  ["AUTH_SECRET", "portal.authSecret"],
];

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const environment = options.environment ?? readProcessEnvironment();
  const onWarning =
    options.onWarning ?? ((message: string) => process.stderr.write(`helexa: warning: ${message}\n`));

  const flagSettings = settingsFromFlags(options.flags ?? {}, options.flagNames ?? {});
  const environmentSettings = settingsFromEnvironment(environment, onWarning);
  const homeBeforeFile = homeFrom(flagSettings.get("home") ?? environmentSettings.get("home"));
  const fileSettings = settingsFromConfigFile(locateConfigFile(options, environment, homeBeforeFile));
  const home = homeFrom(
    flagSettings.get("home") ?? environmentSettings.get("home") ?? fileSettings.get("home"),
  );

  const defaultSettings: Settings = new Map();
  const defaults = defaultConfigValues({ home, includeUpDefaults: options.includeUpDefaults ?? false });
  for (const [path, value] of Object.entries(defaults))
    defaultSettings.set(path, { value, source: "default" });

  const merged: Settings = new Map([
    ...defaultSettings,
    ...fileSettings,
    ...environmentSettings,
    ...flagSettings,
  ]);
  const result = configSchema.safeParse(nest(merged));
  if (result.success) return result.data;
  throw errorFromIssue(result.error.issues[0], merged);
}

/** The home directory a raw value names, or the default when it names none (validation reports it later). */
function homeFrom(setting: Setting | undefined): string {
  if (setting === undefined) return defaultHomeDirectory();
  const parsed = configSchema.shape.home.safeParse(setting.value);
  return parsed.success ? parsed.data : defaultHomeDirectory();
}

function kebabToCamel(segment: string): string {
  return segment.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function settingsFromFlags(flags: Record<string, unknown>, flagNames: Record<string, string>): Settings {
  const settings: Settings = new Map();
  const visit = (object: Record<string, unknown>, prefix: string[], written: string[]): void => {
    for (const [name, value] of Object.entries(object)) {
      if (value === undefined) continue;
      const path = [...prefix, ...name.split(".").map(kebabToCamel)];
      const spelled = [...written, name];
      const source = `flag --${flagNames[path.join(".")] ?? spelled.join(".")}`;
      if (configSections.has(path.join(".")) && isPlainObject(value)) visit(value, path, spelled);
      else addSetting(settings, path.join("."), value, source);
    }
  };
  visit(flags, [], []);
  return settings;
}

function settingsFromObject(object: Record<string, unknown>, source: string): Settings {
  const settings: Settings = new Map();
  const visit = (value: Record<string, unknown>, prefix: string): void => {
    for (const [name, child] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (configSections.has(path) && isPlainObject(child)) visit(child, path);
      else addSetting(settings, path, child, source);
    }
  };
  visit(object, "");
  return settings;
}

function addSetting(settings: Settings, path: string, value: unknown, source: string): void {
  if (leafKeys.has(path)) {
    settings.set(path, { value, source });
    return;
  }
  if (configSections.has(path)) {
    throw new ConfigError(
      `invalid config: ${path} (from ${source}) must be an object, got ${describeValue(value)}`,
      {
        key: path,
        source,
      },
    );
  }
  const suggestion = closest(path, [...leafKeys]);
  throw new ConfigError(
    `invalid config: unknown key ${path} (from ${source})${suggestion ? `; did you mean ${suggestion}?` : ""}`,
    { key: path, source },
  );
}

function settingsFromEnvironment(environment: Environment, onWarning: (message: string) => void): Settings {
  const settings: Settings = new Map();
  // An empty variable counts as unset, as compose files and shells leave them.
  for (const [variable, path] of environmentAliases) {
    const value = environment[variable];
    if (value) settings.set(path, { value, source: variable });
  }
  for (const key of configKeys) {
    const value = environment[key.environmentVariable];
    if (value) settings.set(key.path, { value, source: key.environmentVariable });
  }
  const known = new Set([configFileVariable, ...configKeys.map((key) => key.environmentVariable)]);
  for (const name of Object.keys(environment)) {
    if (!name.startsWith("HELEXA_") || known.has(name)) continue;
    const suggestion = closest(name, [...known]);
    onWarning(
      `unknown environment variable ${name} is ignored${suggestion ? `; did you mean ${suggestion}?` : ""}`,
    );
  }
  return settings;
}

interface ConfigFileLocation {
  path: string;
  /** Whether someone asked for this file (then it must exist) or it is the default location. */
  explicit: boolean;
  source: string;
}

function locateConfigFile(
  options: LoadConfigOptions,
  environment: Environment,
  home: string,
): ConfigFileLocation {
  if (options.configFile)
    return { path: options.configFile, explicit: true, source: "the configFile option" };
  const fromEnvironment = environment[configFileVariable];
  if (fromEnvironment) return { path: fromEnvironment, explicit: true, source: configFileVariable };
  return { path: join(home, "config.json"), explicit: false, source: "default" };
}

function settingsFromConfigFile(location: ConfigFileLocation): Settings {
  let text: string;
  try {
    text = readFileSync(location.path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !location.explicit) return new Map();
    const reason = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? String(error)})`;
    throw new ConfigError(
      `invalid config: config file ${location.path} (from ${location.source}) ${reason}`,
      {
        source: location.source,
        cause: error,
      },
    );
  }
  const source = `config file ${location.path}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`invalid config: ${source} is not valid JSON: ${reason}`, { source, cause: error });
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigError(`invalid config: ${source} must hold a JSON object, got ${describeValue(parsed)}`, {
      source,
    });
  }
  return settingsFromObject(parsed, source);
}

function nest(settings: Settings): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const section of configSections) {
    let object = root;
    for (const segment of section.split(".")) {
      object[segment] ??= {};
      object = object[segment] as Record<string, unknown>;
    }
  }
  for (const [path, { value }] of settings) {
    const segments = path.split(".");
    const name = segments.pop()!;
    let object = root;
    for (const segment of segments) object = object[segment] as Record<string, unknown>;
    object[name] = value;
  }
  return root;
}

function errorFromIssue(issue: z.core.$ZodIssue | undefined, settings: Settings): ConfigError {
  if (!issue) return new ConfigError("invalid config");
  const segments = issue.path.map(String);
  let key = segments.join(".");
  for (let length = segments.length; length > 0; length--) {
    const candidate = segments.slice(0, length).join(".");
    if (leafKeys.has(candidate)) {
      key = candidate;
      break;
    }
  }
  const shown = issue.path.reduce<string>(
    (text, segment) =>
      typeof segment === "number"
        ? `${text}[${segment}]`
        : text
          ? `${text}.${String(segment)}`
          : String(segment),
    "",
  );
  const setting = settings.get(key);
  const from = setting ? ` (from ${setting.source})` : "";
  const got = setting && !secretConfigKeys.has(key) ? `, got ${describeValue(setting.value)}` : "";
  return new ConfigError(`invalid config: ${shown}${from} ${issue.message}${got}`, {
    key,
    source: setting?.source ?? null,
  });
}

function describeValue(value: unknown): string {
  const text = value === undefined ? "nothing" : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The candidate a typo most likely meant, when one is close enough to suggest. */
function closest(name: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(name.length / 4));
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row++) {
    const current = [row];
    for (let column = 1; column <= right.length; column++) {
      const substitution = previous[column - 1]! + (left[row - 1] === right[column - 1] ? 0 : 1);
      current[column] = Math.min(previous[column]! + 1, current[column - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[right.length]!;
}

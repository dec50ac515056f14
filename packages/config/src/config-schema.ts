// SPDX-License-Identifier: PolyForm-Shield-1.0
// The one schema of helexa's configuration: every key, what it accepts, and how strings from env and flags coerce.

import { isIP } from "node:net";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { formatSocketAddress, socketAddressAccepts, trySocketAddress } from "./socket-address.js";

/** Env vars and flags arrive as strings; a string that spells a number becomes that number. */
function numberFromString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(trimmed) ? Number(trimmed) : value;
}

const trueWords = new Set(["true", "1", "yes", "on"]);
const falseWords = new Set(["false", "0", "no", "off"]);

function booleanFromString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const word = value.trim().toLowerCase();
  if (trueWords.has(word)) return true;
  if (falseWords.has(word)) return false;
  return value;
}

function positiveInteger() {
  const error = "must be a positive integer";
  return z.preprocess(numberFromString, z.number({ error }).int({ error }).min(1, { error }));
}

function nonNegativeInteger() {
  const error = "must be an integer of 0 or more";
  return z.preprocess(numberFromString, z.number({ error }).int({ error }).min(0, { error }));
}

function port() {
  const error = "must be a port from 1 to 65535";
  return z.preprocess(
    numberFromString,
    z.number({ error }).int({ error }).min(1, { error }).max(65535, { error }),
  );
}

const byteUnits: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "8GB", "7.5GiB", "500MB" or a plain count: decimal units as disks and model pages give them, binary ones with "i". */
function bytesFromString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = byteUnits[match?.[2]?.toLowerCase() ?? "?"];
  if (!match || unit === undefined) return value;
  return Math.round(Number(match[1]) * unit);
}

function byteSize() {
  const error = "must be a number of bytes, such as 8000000000, 8GB or 7.5GiB";
  return z.preprocess(bytesFromString, z.number({ error }).int({ error }).min(1, { error }));
}

function booleanValue() {
  return z.preprocess(booleanFromString, z.boolean({ error: "must be true or false" }));
}

function nonEmptyString(accepts = "must be a non-empty string") {
  return z.string({ error: accepts }).trim().min(1, { error: accepts });
}

/** A directory or file path: `~` expands to the user's home, relative paths resolve against the working directory. */
function pathValue() {
  return nonEmptyString("must be a path").transform((text) =>
    resolve(text === "~" || text.startsWith("~/") ? homedir() + text.slice(1) : text),
  );
}

function urlValue(protocols: readonly string[], example: string) {
  const error = `must be a ${protocols.map((protocol) => `${protocol}//`).join(" or ")} URL such as ${example}`;
  return nonEmptyString(error).refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { error },
  );
}

/** Listen addresses are kept as canonical "host:port" text; parseSocketAddress splits them. */
function socketValue() {
  return z.preprocess(
    (value) => (typeof value === "number" ? String(value) : value),
    z.string({ error: socketAddressAccepts }).transform((text, context) => {
      const address = trySocketAddress(text);
      if (!address) {
        context.addIssue({ code: "custom", message: socketAddressAccepts });
        return z.NEVER;
      }
      return formatSocketAddress(address);
    }),
  );
}

const iceUrlsAccept = "must be a stun:, stuns:, turn: or turns: URL, or a list of them";
const iceUrlSchema = z
  .string({ error: iceUrlsAccept })
  .regex(/^(stun|stuns|turn|turns):\S+$/, { error: iceUrlsAccept });

const iceServerSchema = z.strictObject(
  {
    urls: z.union([iceUrlSchema, z.array(iceUrlSchema).min(1, { error: iceUrlsAccept })], {
      error: iceUrlsAccept,
    }),
    username: z.string({ error: "must be a string" }).optional(),
    credential: z.string({ error: "must be a string" }).optional(),
  },
  { error: 'must be {"urls": ..., "username"?: ..., "credential"?: ...}' },
);

/**
 * ICE servers come as a JSON list of {urls, username?, credential?} from a file, and from env or a
 * flag either as that JSON or as comma-separated URLs (no credentials).
 */
function iceServersFromString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  if (trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return trimmed
    .split(",")
    .map((url) => url.trim())
    .filter((url) => url.length > 0)
    .map((url) => ({ urls: url }));
}

const iceServersAccept =
  'must be a list of ICE servers ({"urls": "stun:host:port", "username"?, "credential"?}) or comma-separated stun:/turn: URLs';

export const gpuModes = ["auto", "cuda", "vulkan", "metal", "off"] as const;
export const logLevels = ["debug", "info", "warn", "error", "silent"] as const;

export const configSchema = z.object({
  /** Where helexa keeps its database, models and config file. */
  home: pathValue(),
  database: z.object({
    /** PostgreSQL to use; without one, an embedded PGlite database lives under <home>/db. */
    url: urlValue(["postgres:", "postgresql:"], "postgres://user:password@localhost:5432/helexa").optional(),
  }),
  cortex: z.object({
    /** Each role runs only when its socket is set; `helexa up` sets all three. */
    orchestratorSocket: socketValue().optional(),
    gatewaySocket: socketValue().optional(),
    portalSocket: socketValue().optional(),
    /** Jobs that may wait for a free neuron at once; one more is answered 429 with Retry-After. */
    queueLimit: positiveInteger(),
    /** How long a job waits for a free neuron before it is answered 429. */
    queueTimeoutSeconds: positiveInteger(),
    /** The address users and neurons reach cortex at, when it differs from the sockets (a proxy, a domain). */
    publicUrl: urlValue(["http:", "https:"], "https://helexa.example.com").optional(),
    /**
     * Where cortex keeps the catalog's model files it serves to browser tabs (`GET /models/<id>/file` on
     * the portal socket), fetched from each model's source URL on first request. `helexa up` shares the
     * neuron's models dir, so the default model is there already.
     */
    modelsDir: pathValue(),
  }),
  ice: z
    .object({
      servers: z.preprocess(iceServersFromString, z.array(iceServerSchema, { error: iceServersAccept })),
      /** The local address WebRTC gathers candidates on, when a machine has several. */
      bindAddress: nonEmptyString("must be an IP address")
        .refine((text) => isIP(text) !== 0, { error: "must be an IP address" })
        .optional(),
      portRangeBegin: port().optional(),
      portRangeEnd: port().optional(),
    })
    .superRefine((ice, context) => {
      const { portRangeBegin, portRangeEnd } = ice;
      if ((portRangeBegin === undefined) !== (portRangeEnd === undefined)) {
        const [missing, given] =
          portRangeBegin === undefined
            ? ["portRangeBegin", "portRangeEnd"]
            : ["portRangeEnd", "portRangeBegin"];
        context.addIssue({ code: "custom", path: [missing], message: `must be set when ice.${given} is` });
      } else if (
        portRangeBegin !== undefined &&
        portRangeEnd !== undefined &&
        portRangeEnd < portRangeBegin
      ) {
        context.addIssue({
          code: "custom",
          path: ["portRangeEnd"],
          message: `must not be below ice.portRangeBegin (${portRangeBegin})`,
        });
      }
    }),
  neuron: z.object({
    cortexUrl: urlValue(["ws:", "wss:"], "ws://127.0.0.1:8040").optional(),
    token: nonEmptyString().optional(),
    name: nonEmptyString().max(128, { error: "must be at most 128 characters" }),
    controlSocket: socketValue(),
    apiSocket: socketValue(),
    modelsDir: pathValue(),
    /** A model file path or an http(s) URL to fetch into modelsDir. */
    model: nonEmptyString("must be a model file path or an http(s) URL").optional(),
    threads: positiveInteger(),
    slots: positiveInteger(),
    gpu: z.enum(gpuModes, { error: `must be one of ${gpuModes.join(", ")}` }),
    /** An OpenAI-compatible server (llama-server, vLLM, Ollama) to serve from instead of a local model. */
    upstreamUrl: urlValue(["http:", "https:"], "http://127.0.0.1:11434/v1").optional(),
    upstreamApiKey: nonEmptyString().optional(),
    /** For load tests only: serve no model but the synthetic runtime, at this many tokens/s per stream. */
    syntheticLoadTestTokensPerSecond: z
      .preprocess(
        numberFromString,
        z
          .number({ error: "must be a positive number of tokens per second" })
          .positive({ error: "must be a positive number of tokens per second" }),
      )
      .optional(),
    /** On SIGTERM the neuron finishes its running jobs for at most this long, then cancels the rest and exits. */
    drainTimeoutSeconds: positiveInteger(),
    /** Load and unload models when cortex asks (llama.cpp neurons); off serves only the model it started with. */
    provisioning: booleanValue(),
    /** The most bytes of model files loaded at once; half the machine's memory when absent. */
    memoryBudgetBytes: byteSize().optional(),
  }),
  ledger: z.object({
    /** The part of what a customer pays that goes to the neuron's operator. */
    operatorShare: z.preprocess(
      numberFromString,
      z
        .number({ error: "must be a number from 0 to 1" })
        .min(0, { error: "must be a number from 0 to 1" })
        .max(1, { error: "must be a number from 0 to 1" }),
    ),
    /** Micro-credits given to the API key `helexa up` creates. */
    initialCredits: nonNegativeInteger(),
  }),
  portal: z.object({
    /** Signs and encrypts session cookies; every cortex serving the portal needs the same one. */
    authSecret: nonEmptyString()
      .min(32, { error: "must be at least 32 characters (try: openssl rand -base64 32)" })
      .optional(),
    /** Where verification and password-reset mail goes out; without it the links are logged. */
    smtpUrl: urlValue(["smtp:", "smtps:"], "smtps://user:password@smtp.example.com:465").optional(),
    mailFrom: nonEmptyString(),
    githubClientId: nonEmptyString().optional(),
    githubClientSecret: nonEmptyString().optional(),
    googleClientId: nonEmptyString().optional(),
    googleClientSecret: nonEmptyString().optional(),
    /** With it, credit packs are sold through Stripe Checkout; without it, a labelled dev provider. */
    stripeSecretKey: nonEmptyString().optional(),
    stripeWebhookSecret: nonEmptyString().optional(),
  }),
  log: z.object({
    level: z.enum(logLevels, { error: `must be one of ${logLevels.join(", ")}` }),
    /** One JSON object per line instead of text, for log collectors. */
    json: booleanValue(),
  }),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type GpuMode = (typeof gpuModes)[number];
export type LogLevel = (typeof logLevels)[number];

/** Keys whose values are never echoed in an error message. */
export const secretConfigKeys: ReadonlySet<string> = new Set([
  "database.url",
  "neuron.token",
  "neuron.upstreamApiKey",
  "ice.servers",
  "portal.authSecret",
  "portal.smtpUrl",
  "portal.githubClientSecret",
  "portal.googleClientSecret",
  "portal.stripeSecretKey",
  "portal.stripeWebhookSecret",
]);

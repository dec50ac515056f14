// SPDX-License-Identifier: PolyForm-Shield-1.0
// The messages between the page and the engine worker, and the model a browser neuron is asked to serve.

import {
  finishReasonSchema,
  generationRequestSchema,
  type MlcBuild,
  mlcBuildSchema,
  tokenIdsSchema,
  usageSchema,
  wireErrorSchema,
} from "@helexa/protocol";
import { z } from "zod";

const httpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** A model's MLC build (WebLLM): the catalog's schema, one for cortex, the portal and the tab. */
export { type MlcBuild, mlcBuildSchema };

/** A catalog model as a browser neuron gets it: the GGUF file for wllama, and its MLC build where there is one. */
export const browserModelSchema = z.object({
  id: z.string().trim().min(1).max(200),
  /** The GGUF file, served by cortex with Range and caching headers. */
  url: httpUrl,
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  sizeBytes: z.int().positive().optional(),
  /** The catalog's context length; the tab may serve fewer tokens and says so when ready. */
  contextLength: z.int().positive().optional(),
  mlc: mlcBuildSchema.optional(),
});
export type BrowserModel = z.input<typeof browserModelSchema>;
export type ParsedBrowserModel = z.output<typeof browserModelSchema>;

export const engineKindSchema = z.enum(["webllm", "wllama"]);
export type EngineKind = z.infer<typeof engineKindSchema>;

export const enginePreferencesSchema = z.object({
  /** "auto" picks WebLLM where it can run, wllama otherwise. */
  engine: z.enum(["auto", "webllm", "wllama"]).default("auto"),
  /** The visitor's limit on the memory the model may take; a model that needs more is refused. */
  memoryLimitBytes: z.int().positive().optional(),
  /** wllama's CPU threads; by default 1 up to 2 cores, half the cores above, and 1 unless cross-origin isolated. */
  threads: z.int().positive().max(64).optional(),
});
export type EnginePreferences = z.input<typeof enginePreferencesSchema>;

export const adapterSummarySchema = z.object({
  /** The adapter in words: its description, or vendor and architecture ("google swiftshader"). */
  name: z.string(),
  vendor: z.string(),
  architecture: z.string(),
  /** A software adapter (SwiftShader) or otherwise one the browser calls a fallback. */
  fallback: z.boolean(),
  features: z.array(z.string()),
});
export type AdapterSummary = z.infer<typeof adapterSummarySchema>;

const jobId = z.string().min(1).max(100);

export const pageToWorkerMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("load"),
    model: browserModelSchema,
    preferences: enginePreferencesSchema.default({ engine: "auto" }),
  }),
  z.object({
    type: z.literal("generate"),
    jobId,
    request: generationRequestSchema,
    providerOptions: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ type: z.literal("cancel"), jobId }),
  z.object({ type: z.literal("unload") }),
]);
export type PageToWorkerMessage = z.input<typeof pageToWorkerMessageSchema>;
export type ParsedPageToWorkerMessage = z.output<typeof pageToWorkerMessageSchema>;

export const engineReadySchema = z.object({
  engine: engineKindSchema,
  /** Why this engine, in words for the visitor. */
  reason: z.string(),
  /** The engine and its version in words, for capabilities and logs. */
  description: z.string(),
  model: z.object({ id: z.string(), contextLength: z.int().positive() }),
  adapter: adapterSummarySchema.nullable(),
  /** Whether the model file came from browser storage rather than the network. */
  fromStorage: z.boolean(),
});
export type EngineReady = z.infer<typeof engineReadySchema>;

export const workerToPageMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("progress"),
    phase: z.enum(["download", "load"]),
    label: z.string(),
    fraction: z.number().min(0).max(1).nullable(),
    bytes: z
      .object({ done: z.number().nonnegative(), total: z.number().nonnegative().nullable() })
      .optional(),
  }),
  z.object({ type: z.literal("ready"), ready: engineReadySchema }),
  z.object({ type: z.literal("load-error"), error: wireErrorSchema }),
  z.object({
    type: z.literal("delta"),
    jobId,
    text: z.string(),
    usage: usageSchema.optional(),
    tokens: tokenIdsSchema.optional(),
  }),
  z.object({ type: z.literal("finish"), jobId, finishReason: finishReasonSchema, usage: usageSchema }),
  z.object({ type: z.literal("error"), jobId, error: wireErrorSchema }),
  z.object({ type: z.literal("unloaded") }),
]);
export type WorkerToPageMessage = z.infer<typeof workerToPageMessageSchema>;

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Provisioning messages on a neuron's WebSocket: cortex asks for a model to be loaded or unloaded, the neuron reports.

import { z } from "zod";
import { wireErrorSchema } from "./errors.js";
import { modelIdSchema, sha256Schema } from "./portal.js";

/** Load a model from the catalog: download it (checked against sha256 and size) unless the file is there, then load it. */
export const modelLoadSchema = z.object({
  type: z.literal("model.load"),
  modelId: modelIdSchema,
  url: z.url({ protocol: /^https?$/ }).max(2048),
  sha256: sha256Schema,
  sizeBytes: z.int().positive(),
  /** The catalog's context length; the neuron may serve fewer tokens and says so in its capabilities. */
  contextLength: z.int().positive(),
});
export type ModelLoad = z.infer<typeof modelLoadSchema>;

/** Unload a model; the neuron lets the jobs running on it end first, then says so with fresh capabilities. */
export const modelUnloadSchema = z.object({
  type: z.literal("model.unload"),
  modelId: modelIdSchema,
});
export type ModelUnload = z.infer<typeof modelUnloadSchema>;

/** How far a load has come; a finished load is announced by fresh capabilities that list the model. */
export const modelProgressSchema = z.object({
  type: z.literal("model.progress"),
  modelId: modelIdSchema,
  phase: z.enum(["download", "load"]),
  /** From 0 to 1; null while unknown. */
  fraction: z.number().min(0).max(1).nullable(),
  /** Bytes downloaded so far (the download phase), or the file's size (the load phase). */
  bytes: z.number().nonnegative(),
});
export type ModelProgress = z.infer<typeof modelProgressSchema>;

/** A load (or unload) failed: a checksum mismatch, a full disk, a model over the neuron's memory budget. */
export const modelErrorSchema = z.object({
  type: z.literal("model.error"),
  modelId: modelIdSchema,
  error: wireErrorSchema,
});
export type ModelError = z.infer<typeof modelErrorSchema>;

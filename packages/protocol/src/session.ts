// SPDX-License-Identifier: PolyForm-Shield-1.0
// Messages on a neuron's WebSocket to cortex: session, signalling and registry.

import { z } from "zod";
import { wireErrorSchema } from "./errors.js";
import { modelErrorSchema, modelLoadSchema, modelProgressSchema, modelUnloadSchema } from "./models.js";

export const iceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

export const helloSchema = z.object({
  type: z.literal("hello"),
  protocol: z.string(),
  role: z.enum(["neuron"]),
  token: z.string(),
  name: z.string().max(200),
  software: z.string().max(200),
});
export type Hello = z.infer<typeof helloSchema>;

export const welcomeSchema = z.object({
  type: z.literal("welcome"),
  protocol: z.string(),
  neuronId: z.string(),
  heartbeatIntervalMs: z.int().positive(),
  iceServers: z.array(iceServerSchema),
});
export type Welcome = z.infer<typeof welcomeSchema>;

export const sessionErrorSchema = z.object({
  type: z.literal("error"),
  error: wireErrorSchema,
});
export type SessionError = z.infer<typeof sessionErrorSchema>;

export const heartbeatSchema = z.object({
  type: z.literal("heartbeat"),
  sentAt: z.number(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const signalDescriptionSchema = z.object({
  type: z.literal("signal.description"),
  description: z.object({ type: z.enum(["offer", "answer"]), sdp: z.string().max(64 * 1024) }),
});
export const signalCandidateSchema = z.object({
  type: z.literal("signal.candidate"),
  candidate: z.string().max(2048),
  mid: z.string().max(64),
});
export type SignalDescription = z.infer<typeof signalDescriptionSchema>;
export type SignalCandidate = z.infer<typeof signalCandidateSchema>;

export const modelCapabilitySchema = z.object({
  id: z.string().min(1),
  contextLength: z.int().positive(),
  /** Decode tokens/s measured here (a browser tab measures it as it loads the model): placement's guess until jobs measure it. */
  tokensPerSecond: z.number().positive().optional(),
  /** The model file's size, which counts against the neuron's memory budget. */
  sizeBytes: z.int().nonnegative().optional(),
});
export type ModelCapability = z.infer<typeof modelCapabilitySchema>;

/** What one neuron takes on; cortex places nothing beyond it. Browser tabs always send it. */
export const neuronLimitsSchema = z.object({
  /** Prompt plus completion tokens one job may need: cortex places a job here only when its estimate fits. */
  maxJobTokens: z.int().positive().optional(),
  /** Jobs at once, when fewer than `slots`. */
  maxConcurrentJobs: z.int().positive().optional(),
});
export type NeuronLimits = z.infer<typeof neuronLimitsSchema>;

export const capabilitiesSchema = z.object({
  type: z.literal("capabilities"),
  models: z.array(modelCapabilitySchema),
  /** kind: "llama-cpp", "openai-upstream", "synthetic-for-load-tests"; in a browser tab "wllama" or "webllm". */
  runtime: z.object({ kind: z.string(), engine: z.string() }),
  /** "browser" for a portal tab, which may vanish at any moment: cortex prefers native neurons for long jobs. */
  host: z.enum(["native", "browser"]).optional(),
  limits: neuronLimitsSchema.optional(),
  hardware: z.object({
    cpu: z.string(),
    cores: z.int().positive(),
    memoryBytes: z.number().nonnegative(),
    gpu: z.string().nullable(),
  }),
  slots: z.int().positive(),
  /** The neuron loads and unloads models when cortex asks (`model.load`, `model.unload`). */
  provisioning: z.boolean().optional(),
  /** The most bytes of models it keeps loaded at once; a load past it is refused. */
  memoryBudgetBytes: z.int().nonnegative().optional(),
  /** The runtime reports token ids on its deltas and can take over a job from them (`request.resume`). */
  resume: z.boolean().optional(),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** The neuron is shutting down: it finishes the jobs it runs and takes no new ones, then leaves. */
export const drainingSchema = z.object({ type: z.literal("draining") });
export type Draining = z.infer<typeof drainingSchema>;

/** Everything a neuron may send on its WebSocket after hello. */
export const neuronSessionMessageSchema = z.discriminatedUnion("type", [
  heartbeatSchema,
  signalDescriptionSchema,
  signalCandidateSchema,
  capabilitiesSchema,
  drainingSchema,
  modelProgressSchema,
  modelErrorSchema,
]);
export type NeuronSessionMessage = z.infer<typeof neuronSessionMessageSchema>;

/** Everything cortex may send on a neuron's WebSocket. */
export const cortexSessionMessageSchema = z.discriminatedUnion("type", [
  welcomeSchema,
  sessionErrorSchema,
  heartbeatSchema,
  signalDescriptionSchema,
  signalCandidateSchema,
  modelLoadSchema,
  modelUnloadSchema,
]);
export type CortexSessionMessage = z.infer<typeof cortexSessionMessageSchema>;

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Messages on a neuron's WebSocket to cortex: session, signalling and registry.

import { z } from "zod";
import { wireErrorSchema } from "./errors.js";

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
});
export type ModelCapability = z.infer<typeof modelCapabilitySchema>;

export const capabilitiesSchema = z.object({
  type: z.literal("capabilities"),
  models: z.array(modelCapabilitySchema),
  runtime: z.object({ kind: z.string(), engine: z.string() }),
  hardware: z.object({
    cpu: z.string(),
    cores: z.int().positive(),
    memoryBytes: z.number().nonnegative(),
    gpu: z.string().nullable(),
  }),
  slots: z.int().positive(),
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
]);
export type NeuronSessionMessage = z.infer<typeof neuronSessionMessageSchema>;

/** Everything cortex may send on a neuron's WebSocket. */
export const cortexSessionMessageSchema = z.discriminatedUnion("type", [
  welcomeSchema,
  sessionErrorSchema,
  heartbeatSchema,
  signalDescriptionSchema,
  signalCandidateSchema,
]);
export type CortexSessionMessage = z.infer<typeof cortexSessionMessageSchema>;

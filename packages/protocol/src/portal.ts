// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal's inputs: what its forms send to cortex's tRPC router, checked there and in the browser alike.

import { z } from "zod";

/** One credit is a million micro-credits; people type credits, the ledger counts micro-credits. */
export const microCreditsPerCredit = 1_000_000;

export const emailSchema = z
  .string({ error: "enter an email address such as ada@example.com" })
  .trim()
  .toLowerCase()
  .pipe(
    z
      .email({ error: "enter an email address such as ada@example.com" })
      .max(254, { error: "an email address is at most 254 characters" }),
  );

export const passwordSchema = z
  .string()
  .min(10, { error: "use at least 10 characters" })
  .max(200, { error: "use at most 200 characters" });

export const displayNameSchema = z
  .string()
  .trim()
  .min(1, { error: "enter a name" })
  .max(80, { error: "use at most 80 characters" });

export const signUpInputSchema = z.object({
  email: emailSchema,
  name: displayNameSchema,
  password: passwordSchema,
});
export type SignUpInput = z.infer<typeof signUpInputSchema>;

export const signInInputSchema = z.object({
  email: emailSchema,
  password: z.string().min(1, { error: "enter your password" }).max(200),
});
export type SignInInput = z.infer<typeof signInInputSchema>;

export const changePasswordInputSchema = z.object({
  currentPassword: z.string().min(1, { error: "enter your current password" }).max(200),
  newPassword: passwordSchema,
});

export const requestPasswordResetInputSchema = z.object({ email: emailSchema });
export const resetPasswordInputSchema = z.object({
  token: z.string().min(1).max(200),
  password: passwordSchema,
});
export const verifyEmailInputSchema = z.object({ token: z.string().min(1).max(200) });

const idSchema = z.string().min(1).max(200);

/** Credits as a person types them (up to 6 decimals), kept as micro-credits. */
export const creditAmountSchema = z
  .number({ error: "enter an amount in credits" })
  .positive({ error: "must be more than 0" })
  .max(1_000_000_000, { error: "must be at most 1,000,000,000 credits" })
  .transform((credits) => Math.round(credits * microCreditsPerCredit));

export const createApiKeyInputSchema = z.object({
  name: z.string().trim().min(1, { error: "name the key" }).max(80, { error: "use at most 80 characters" }),
  /** Credits the key may spend in all; omitted or null for no limit. */
  spendLimitCredits: creditAmountSchema.nullish(),
  rateLimitPerMinute: z
    .int({ error: "must be a whole number" })
    .min(1, { error: "must be at least 1" })
    .max(100_000, { error: "must be at most 100,000" })
    .nullish(),
});
export type CreateApiKeyInput = z.input<typeof createApiKeyInputSchema>;

export const byIdInputSchema = z.object({ id: idSchema });

export const chatSendInputSchema = z.object({
  /** Omitted to start a new conversation. */
  conversationId: idSchema.optional(),
  model: z.string().min(1, { error: "pick a model" }).max(200),
  content: z.string().trim().min(1, { error: "write a message" }).max(32_000),
  maxTokens: z.int().min(1).max(4096).optional(),
  /** As in the API: 0 always picks the likeliest token; omitted, the model's default sampling. */
  temperature: z.number().min(0).max(2).optional(),
});
export type ChatSendInput = z.infer<typeof chatSendInputSchema>;

export const renameConversationInputSchema = z.object({
  id: idSchema,
  title: z.string().trim().min(1).max(120),
});

/** What the chat stream sends to the browser, in order: conversation, then deltas, then one of done/error. */
export const chatEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("conversation"), conversationId: z.string(), userMessageId: z.string() }),
  z.object({ type: z.literal("delta"), text: z.string() }),
  z.object({
    type: z.literal("done"),
    messageId: z.string(),
    cost: z.number(),
    promptTokens: z.number(),
    completionTokens: z.number(),
    finishReason: z.string(),
  }),
  z.object({
    type: z.literal("error"),
    code: z.string(),
    message: z.string(),
    /** The partial reply is kept; its cost is what was delivered. */
    messageId: z.string().nullable(),
    cost: z.number(),
  }),
]);
export type ChatEvent = z.infer<typeof chatEventSchema>;

export const checkoutInputSchema = z.object({ packId: z.string().min(1).max(40) });

export const dateRangeInputSchema = z
  .object({
    /** UTC days, inclusive: "2026-11-01". */
    from: z.iso.date(),
    to: z.iso.date(),
  })
  .refine((range) => range.from <= range.to, { error: "the range must start before it ends", path: ["to"] })
  .refine((range) => Date.parse(range.to) - Date.parse(range.from) <= 366 * 86_400_000, {
    error: "pick at most a year",
    path: ["from"],
  });

export const ledgerHistoryInputSchema = z.object({
  limit: z.int().min(1).max(200).default(50),
  /** The last entry of the previous page: entries written in one batch share a time, never an id. */
  beforeEntryId: z.int().positive().optional(),
});

export const registerNeuronInputSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, { error: "name the neuron" })
    .max(80, { error: "use at most 80 characters" }),
});

/** A /donate tab asks for its neuron token, handing back the one it kept, if any, to reuse it. */
export const browserNeuronTokenInputSchema = z.object({
  token: z.string().trim().max(200).optional(),
  name: z
    .string()
    .trim()
    .min(1, { error: "name the neuron" })
    .max(80, { error: "use at most 80 characters" })
    .optional(),
});
export type BrowserNeuronTokenInput = z.infer<typeof browserNeuronTokenInputSchema>;

export const modelIdSchema = z
  .string()
  .trim()
  .min(1, { error: "enter the model's name" })
  .max(200)
  .regex(/^[A-Za-z0-9._:/-]+$/, { error: "use letters, digits and . _ : / - only" });

export const sha256Schema = z
  .string()
  .trim()
  .regex(/^[0-9a-f]{64}$/, { error: "must be 64 lower-case hex characters" });

/**
 * A model's MLC build, for WebLLM on WebGPU in a donating tab: where its weights (the folder with
 * mlc-chat-config.json) and its compiled WebGPU library are, and what the library's GPU code needs.
 */
export const mlcBuildSchema = z.object({
  modelUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
  modelLibraryUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
  /** WebGPU features the library uses, "shader-f16" for most builds. */
  requiredFeatures: z.array(z.string().trim().min(1).max(100)).max(20).default([]),
  /** GPU memory the build needs. */
  gpuMemoryBytes: z.int().positive().optional(),
});
export type MlcBuild = z.infer<typeof mlcBuildSchema>;

export const upsertModelInputSchema = z.object({
  id: modelIdSchema,
  sourceUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).nullish(),
  sha256: sha256Schema.nullish(),
  sizeBytes: z.int().positive().nullish(),
  /** Where browser tabs with WebGPU may run the model through WebLLM instead of its GGUF file. */
  mlc: mlcBuildSchema.nullish(),
  contextLength: z.int({ error: "must be a whole number" }).min(1).max(10_000_000),
  /** Credits per million tokens. */
  pricePromptPerMillionCredits: z.number().min(0).max(1_000_000),
  priceCompletionPerMillionCredits: z.number().min(0).max(1_000_000),
});
export type UpsertModelInput = z.infer<typeof upsertModelInputSchema>;

export const listAccountsInputSchema = z.object({
  search: z.string().trim().max(200).optional(),
  limit: z.int().min(1).max(200).default(50),
  offset: z.int().min(0).default(0),
});

export const setSuspendedInputSchema = z.object({ accountId: idSchema, suspended: z.boolean() });

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The chat router: the live model list, saved conversations, and a streamed reply billed like any API call.

import {
  byIdInputSchema,
  type ChatEvent,
  type ChatMessage,
  chatSendInputSchema,
  HelexaError,
  renameConversationInputSchema,
  type Usage,
} from "@helexa/protocol";
import { TRPCError } from "@trpc/server";
import { protectedProcedure, publicProcedure, router } from "../trpc.js";

/** How much of a conversation goes back to the model with each new message. */
const historyMessages = 24;

export const chatRouter = router({
  /** Models in the catalog with the neurons serving each now; a model nobody serves is listed as offline. */
  models: publicProcedure.query(async ({ ctx }) => {
    const catalog = await ctx.services.catalog.listModels();
    const live = ctx.services.fabric?.liveNeurons() ?? [];
    return catalog.map((model) => ({
      id: model.id,
      contextLength: model.contextLength,
      pricePromptPerMillion: model.pricePromptPerMillion,
      priceCompletionPerMillion: model.priceCompletionPerMillion,
      neurons: live.filter((neuron) => neuron.models.some((served) => served.id === model.id)).length,
    }));
  }),

  conversations: protectedProcedure.query(({ ctx }) =>
    ctx.services.conversations.listConversations(ctx.session.account.id),
  ),

  conversation: protectedProcedure.input(byIdInputSchema).query(async ({ ctx, input }) => {
    const conversation = await ctx.services.conversations.getConversation({
      id: input.id,
      accountId: ctx.session.account.id,
    });
    if (!conversation) throw new TRPCError({ code: "NOT_FOUND", message: "no such conversation" });
    return conversation;
  }),

  rename: protectedProcedure.input(renameConversationInputSchema).mutation(async ({ ctx, input }) => {
    const renamed = await ctx.services.conversations.renameConversation({
      id: input.id,
      accountId: ctx.session.account.id,
      title: input.title,
    });
    if (!renamed) throw new TRPCError({ code: "NOT_FOUND", message: "no such conversation" });
    return { renamed: true };
  }),

  delete: protectedProcedure.input(byIdInputSchema).mutation(async ({ ctx, input }) => {
    const deleted = await ctx.services.conversations.deleteConversation({
      id: input.id,
      accountId: ctx.session.account.id,
    });
    if (!deleted) throw new TRPCError({ code: "NOT_FOUND", message: "no such conversation" });
    return { deleted: true };
  }),

  /**
   * Sends a message and streams the reply. Aborting the call (the stop button) cancels the job on its
   * neuron; the partial reply is kept and costs what was delivered.
   */
  send: protectedProcedure.input(chatSendInputSchema).mutation(async function* ({ ctx, input, signal }) {
    const accountId = ctx.session.account.id;
    const { conversations, fabric } = ctx.services;
    let conversationId = input.conversationId;
    let history: ReadonlyArray<{ role: ChatMessage["role"]; content: string }> = [];
    if (conversationId) {
      const existing = await conversations.getConversation({ id: conversationId, accountId });
      if (!existing) throw new TRPCError({ code: "NOT_FOUND", message: "no such conversation" });
      history = existing.messages;
    } else {
      const created = await conversations.createConversation({
        accountId,
        title: titleOf(input.content),
        model: input.model,
      });
      conversationId = created.id;
    }
    const userMessage = await conversations.appendMessage({
      conversationId,
      accountId,
      role: "user",
      content: input.content,
    });
    yield { type: "conversation", conversationId, userMessageId: userMessage.id } satisfies ChatEvent;

    // What the conversation held when it was read, and this message: no second read before the job starts.
    const messages: ChatMessage[] = [...history, { role: "user" as const, content: input.content }]
      .slice(-historyMessages)
      .filter((message) => message.content.length > 0)
      .map((message) => ({ role: message.role, content: message.content }));

    const abort = new AbortController();
    const onAbort = () => abort.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });

    let text = "";
    let usage: Usage = { promptTokens: 0, completionTokens: 0 };
    let jobId: string | null = null;
    // Until the job says otherwise, an ending is the reader going away: the stop button.
    let outcome: { kind: "done"; finishReason: string } | { kind: "error"; code: string; message: string } = {
      kind: "error",
      code: "job_cancelled",
      message: "stopped",
    };
    // The reply is saved once, whether the stream ends, fails, or its reader leaves mid-way.
    let saved: Promise<{ messageId: string | null; cost: number }> | null = null;
    const save = () => {
      saved ??= (async () => {
        if (jobId === null || !fabric) return { messageId: null, cost: 0 };
        // A failed job pays only for the completion tokens delivered, as on the gateway.
        const failed = outcome.kind === "error" && outcome.code !== "job_cancelled";
        const cost = await fabric.cost({
          model: input.model,
          usage: failed ? { ...usage, promptTokens: 0 } : usage,
        });
        const reply = await conversations.appendMessage({
          conversationId,
          accountId,
          role: "assistant",
          content: text,
          jobId,
          model: input.model,
          cost,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          finishNote: outcome.kind === "error" ? outcome.message : null,
        });
        return { messageId: reply.id, cost };
      })();
      return saved;
    };

    try {
      if (!fabric)
        throw new HelexaError("no_capacity", "this cortex serves no models: its orchestrator is off");
      const job = await fabric.chat({
        accountId,
        model: input.model,
        messages,
        ...(input.maxTokens ? { maxTokens: input.maxTokens } : {}),
        ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
        signal: abort.signal,
      });
      jobId = job.jobId;
      for await (const part of job.parts) {
        if (part.type === "text-delta") {
          text += part.text;
          if (part.usage) usage = part.usage;
          yield { type: "delta", text: part.text } satisfies ChatEvent;
        } else if (part.type === "finish") {
          usage = part.usage;
          outcome = { kind: "done", finishReason: part.finishReason };
        } else {
          outcome = { kind: "error", code: part.error.code, message: part.error.message };
        }
      }
    } catch (error) {
      if (!HelexaError.is(error)) throw error;
      outcome = { kind: "error", code: error.code, message: error.message };
    } finally {
      signal?.removeEventListener("abort", onAbort);
      abort.abort();
      await save();
    }

    const { messageId, cost } = await save();
    if (outcome.kind === "done" && messageId) {
      yield {
        type: "done",
        messageId,
        cost,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        finishReason: outcome.finishReason,
      } satisfies ChatEvent;
    } else if (outcome.kind === "error") {
      yield {
        type: "error",
        code: outcome.code,
        message: outcome.message,
        messageId,
        cost,
      } satisfies ChatEvent;
    }
  }),
});

function titleOf(content: string): string {
  const line = content.split("\n", 1)[0]?.trim() ?? "";
  return line.length > 60 ? `${line.slice(0, 57)}...` : line || "New conversation";
}

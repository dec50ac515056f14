// SPDX-License-Identifier: PolyForm-Shield-1.0
// Portal chat conversations and their messages, each reachable only through the account that owns it.

import { randomUUID } from "node:crypto";
import { HelexaError } from "@helexa/protocol";
import { and, asc, count, desc, eq, sql } from "drizzle-orm";
import type { DrizzleDatabase } from "./open-database.js";
import { conversationMessages, conversations, type MessageRole } from "./schema.js";

export type Conversation = typeof conversations.$inferSelect;
export type ConversationMessage = typeof conversationMessages.$inferSelect;

export interface ConversationSummary {
  id: string;
  title: string;
  model: string;
  createdAt: Date;
  updatedAt: Date;
  messageCount: number;
}

export interface AppendMessageInput {
  conversationId: string;
  accountId: string;
  role: MessageRole;
  content: string;
  jobId?: string | null;
  model?: string | null;
  /** Micro-credits the reply cost. */
  cost?: number | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  finishNote?: string | null;
}

export interface ConversationStore {
  createConversation(input: { accountId: string; title: string; model: string }): Promise<Conversation>;
  /** Most recently updated first. */
  listConversations(accountId: string, options?: { limit?: number }): Promise<ConversationSummary[]>;
  /** The conversation with its messages oldest first, or null when it is not this account's. */
  getConversation(input: {
    id: string;
    accountId: string;
  }): Promise<(Conversation & { messages: ConversationMessage[] }) | null>;
  /**
   * Adds a message and marks the conversation updated. Rejects with not_found when the conversation
   * is not this account's: a message must not be lost silently.
   */
  appendMessage(input: AppendMessageInput): Promise<ConversationMessage>;
  /** Renaming is not activity: the conversation keeps its place in the list. */
  renameConversation(input: { id: string; accountId: string; title: string }): Promise<boolean>;
  /** Deletes the conversation and its messages; false when it is not this account's. */
  deleteConversation(input: { id: string; accountId: string }): Promise<boolean>;
}

export function createConversationStore(options: { db: DrizzleDatabase }): ConversationStore {
  const { db } = options;
  const owned = (input: { id: string; accountId: string }) =>
    and(eq(conversations.id, input.id), eq(conversations.accountId, input.accountId));

  return {
    async createConversation(input) {
      const [conversation] = await db
        .insert(conversations)
        .values({ id: randomUUID(), accountId: input.accountId, title: input.title, model: input.model })
        .returning();
      return conversation!;
    },

    async listConversations(accountId, listOptions = {}) {
      const rows = await db
        .select({
          id: conversations.id,
          title: conversations.title,
          model: conversations.model,
          createdAt: conversations.createdAt,
          updatedAt: conversations.updatedAt,
          messageCount: count(conversationMessages.id),
        })
        .from(conversations)
        .leftJoin(conversationMessages, eq(conversationMessages.conversationId, conversations.id))
        .where(eq(conversations.accountId, accountId))
        .groupBy(conversations.id)
        .orderBy(desc(conversations.updatedAt), desc(conversations.id))
        .limit(listOptions.limit ?? 100);
      return rows.map((row) => ({ ...row, messageCount: Number(row.messageCount) }));
    },

    async getConversation(input) {
      const [conversation] = await db.select().from(conversations).where(owned(input)).limit(1);
      if (!conversation) return null;
      const messages = await db
        .select()
        .from(conversationMessages)
        .where(eq(conversationMessages.conversationId, conversation.id))
        .orderBy(asc(conversationMessages.createdAt), asc(conversationMessages.id));
      return { ...conversation, messages };
    },

    appendMessage(input) {
      if (input.cost != null && !(Number.isSafeInteger(input.cost) && input.cost >= 0)) {
        return Promise.reject(
          new HelexaError("invalid_request", "cost must be a non-negative integer (micro-credits)", {
            param: "cost",
          }),
        );
      }
      return db.transaction(async (tx) => {
        // The update checks ownership and locks the conversation, so its appends take turns.
        const [conversation] = await tx
          .update(conversations)
          .set({ updatedAt: sql`now()` })
          .where(owned({ id: input.conversationId, accountId: input.accountId }))
          .returning({ id: conversations.id });
        if (!conversation) {
          throw new HelexaError("not_found", `conversation ${input.conversationId} was not found`);
        }
        // Messages appended in one transaction share now(); a microsecond past the last keeps their order.
        const createdAt = sql`greatest(now(), (
          select max(${conversationMessages.createdAt}) + interval '1 microsecond'
          from ${conversationMessages} where ${conversationMessages.conversationId} = ${conversation.id}
        ))`;
        const [message] = await tx
          .insert(conversationMessages)
          .values({
            id: randomUUID(),
            conversationId: conversation.id,
            role: input.role,
            content: input.content,
            jobId: input.jobId ?? null,
            model: input.model ?? null,
            cost: input.cost ?? null,
            promptTokens: input.promptTokens ?? null,
            completionTokens: input.completionTokens ?? null,
            finishNote: input.finishNote ?? null,
            createdAt,
          })
          .returning();
        return message!;
      });
    },

    async renameConversation(input) {
      const renamed = await db
        .update(conversations)
        .set({ title: input.title })
        .where(owned(input))
        .returning({ id: conversations.id });
      return renamed.length > 0;
    },

    async deleteConversation(input) {
      const deleted = await db.delete(conversations).where(owned(input)).returning({ id: conversations.id });
      return deleted.length > 0;
    },
  };
}

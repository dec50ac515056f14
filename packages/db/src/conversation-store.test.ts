// SPDX-License-Identifier: PolyForm-Shield-1.0
// Conversations: messages kept in order, lists newest first, and nothing reachable from another account.

import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { createConversationStore } from "./conversation-store.js";
import { conversationMessages } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

describeOnEachBackend("ConversationStore", (backend) => {
  backend.test("keeps messages in order and lists conversations by their last message", async ({ db }) => {
    const store = createConversationStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "chatter" });
    const older = await store.createConversation({ accountId: account.id, title: "Older", model: "tiny" });
    const newer = await store.createConversation({ accountId: account.id, title: "Newer", model: "big" });

    // Appended back to back, within the same millisecond more often than not.
    const contents = Array.from({ length: 6 }, (_, index) => `message ${index}`);
    for (const [index, content] of contents.entries()) {
      await store.appendMessage({
        conversationId: older.id,
        accountId: account.id,
        role: index % 2 === 0 ? "user" : "assistant",
        content,
      });
    }
    const reply = await store.appendMessage({
      conversationId: older.id,
      accountId: account.id,
      role: "assistant",
      content: "partial",
      jobId: "job-1",
      model: "tiny",
      cost: 1_234,
      promptTokens: 10,
      completionTokens: 3,
      finishNote: "stopped",
    });
    assert.deepEqual(
      {
        jobId: reply.jobId,
        model: reply.model,
        cost: reply.cost,
        promptTokens: reply.promptTokens,
        completionTokens: reply.completionTokens,
        finishNote: reply.finishNote,
      },
      {
        jobId: "job-1",
        model: "tiny",
        cost: 1_234,
        promptTokens: 10,
        completionTokens: 3,
        finishNote: "stopped",
      },
    );

    const loaded = await store.getConversation({ id: older.id, accountId: account.id });
    assert.equal(loaded?.title, "Older");
    assert.deepEqual(
      loaded?.messages.map((message) => message.content),
      [...contents, "partial"],
    );
    assert.equal(loaded?.messages[0]?.cost, null);

    // The older conversation has the latest message, so it comes first.
    const listed = await store.listConversations(account.id);
    assert.deepEqual(
      listed.map((row) => [row.id, row.messageCount]),
      [
        [older.id, 7],
        [newer.id, 0],
      ],
    );
    assert.equal(listed[1]?.model, "big");
  });

  backend.test("another account can neither read, write, rename nor delete", async ({ db }) => {
    const store = createConversationStore({ db });
    const accounts = createAccountStore({ db });
    const owner = await accounts.createAccount({ name: "owner" });
    const stranger = await accounts.createAccount({ name: "stranger" });
    const conversation = await store.createConversation({
      accountId: owner.id,
      title: "Private",
      model: "m",
    });
    await store.appendMessage({
      conversationId: conversation.id,
      accountId: owner.id,
      role: "user",
      content: "hi",
    });

    assert.equal(await store.getConversation({ id: conversation.id, accountId: stranger.id }), null);
    await assert.rejects(
      store.appendMessage({
        conversationId: conversation.id,
        accountId: stranger.id,
        role: "user",
        content: "x",
      }),
      { code: "not_found" },
    );
    assert.equal(
      await store.renameConversation({ id: conversation.id, accountId: stranger.id, title: "mine" }),
      false,
    );
    assert.equal(await store.deleteConversation({ id: conversation.id, accountId: stranger.id }), false);
    assert.deepEqual(await store.listConversations(stranger.id), []);

    const loaded = await store.getConversation({ id: conversation.id, accountId: owner.id });
    assert.equal(loaded?.title, "Private");
    assert.equal(loaded?.messages.length, 1);
  });

  backend.test("renaming keeps a conversation's place; deleting removes its messages", async ({ db }) => {
    const store = createConversationStore({ db });
    const account = await createAccountStore({ db }).createAccount({ name: "tidy" });
    const first = await store.createConversation({ accountId: account.id, title: "First", model: "m" });
    const second = await store.createConversation({ accountId: account.id, title: "Second", model: "m" });
    await store.appendMessage({
      conversationId: first.id,
      accountId: account.id,
      role: "user",
      content: "a",
    });
    await store.appendMessage({
      conversationId: second.id,
      accountId: account.id,
      role: "user",
      content: "b",
    });

    assert.equal(
      await store.renameConversation({ id: first.id, accountId: account.id, title: "Renamed" }),
      true,
    );
    const listed = await store.listConversations(account.id);
    assert.deepEqual(
      listed.map((row) => [row.id, row.title]),
      [
        [second.id, "Second"],
        [first.id, "Renamed"],
      ],
    );

    assert.equal(await store.deleteConversation({ id: second.id, accountId: account.id }), true);
    assert.equal(await store.deleteConversation({ id: second.id, accountId: account.id }), false);
    assert.equal(await store.getConversation({ id: second.id, accountId: account.id }), null);
    const orphans = await db
      .select()
      .from(conversationMessages)
      .where(eq(conversationMessages.conversationId, second.id));
    assert.deepEqual(orphans, []);
    await assert.rejects(
      store.appendMessage({
        conversationId: first.id,
        accountId: account.id,
        role: "user",
        content: "x",
        cost: -1,
      }),
      { code: "invalid_request" },
    );
  });
});

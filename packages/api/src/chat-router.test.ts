// SPDX-License-Identifier: PolyForm-Shield-1.0
// The chat stream's promises: the question is kept, the reply is saved once with its cost, failures say why.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HelexaError } from "@helexa/protocol";
import type { ChatPart } from "./services.js";
import {
  createFakeFabric,
  createPortalFixture,
  type PortalCaller,
  type PortalFixture,
} from "./testing/portal-fixture.js";

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const events: T[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("chat router", () => {
  let fixture: PortalFixture;
  let asUser: PortalCaller;
  before(async () => {
    fixture = await createPortalFixture();
    const user = await fixture.signUp({ email: "chatter@example.com" });
    asUser = await fixture.caller(user.sessionId);
  });
  after(() => fixture.close());

  it("streams the reply and saves both messages, the reply with its tokens and cost", async () => {
    fixture.services.fabric = createFakeFabric();
    const events = await collect(await asUser.chat.send({ model: "tiny", content: "  Say hello\nplease  " }));
    const [opened, ...rest] = events;
    assert.equal(opened?.type, "conversation");
    const conversationId = opened.type === "conversation" ? opened.conversationId : "";
    const done = rest.at(-1);
    assert.deepEqual(rest.slice(0, -1), [
      { type: "delta", text: "Hello" },
      { type: "delta", text: ", world" },
    ]);
    assert.equal(done?.type, "done");
    // The fake fabric's price: 10 a prompt token, 20 a completion token.
    assert.deepEqual(done.type === "done" ? { ...done, messageId: "" } : null, {
      type: "done",
      messageId: "",
      cost: 3 * 10 + 2 * 20,
      promptTokens: 3,
      completionTokens: 2,
      finishReason: "stop",
    });

    const conversation = await asUser.chat.conversation({ id: conversationId });
    assert.equal(conversation.title, "Say hello");
    assert.equal(conversation.model, "tiny");
    assert.deepEqual(
      conversation.messages.map((message) => [message.role, message.content, message.cost]),
      [
        ["user", "Say hello\nplease", null],
        ["assistant", "Hello, world", 70],
      ],
    );
    const reply = conversation.messages[1]!;
    assert.equal(reply.jobId, "fake-job-1");
    assert.equal(reply.finishNote, null);
    assert.equal(done.type === "done" && done.messageId, reply.id);
  });

  it("sends the conversation's history back to the model with the next message", async () => {
    const fabric = createFakeFabric();
    const seen: string[][] = [];
    const chat = fabric.chat.bind(fabric);
    fabric.chat = async (options) => {
      seen.push(options.messages.map((message) => `${message.role}:${message.content}`));
      return chat(options);
    };
    fixture.services.fabric = fabric;
    const [opened] = await collect(await asUser.chat.send({ model: "tiny", content: "first" }));
    const conversationId = opened?.type === "conversation" ? opened.conversationId : "";
    await collect(await asUser.chat.send({ conversationId, model: "tiny", content: "second" }));
    assert.deepEqual(seen, [["user:first"], ["user:first", "assistant:Hello, world", "user:second"]]);
  });

  it("keeps a partial reply when the job fails, charging only the completion tokens delivered", async () => {
    const reply: ChatPart[] = [
      { type: "text-delta", text: "Half a", usage: { promptTokens: 50, completionTokens: 2 } },
      { type: "error", error: { code: "neuron_lost", message: "the neuron went away" } },
    ];
    fixture.services.fabric = createFakeFabric(reply);
    const events = await collect(await asUser.chat.send({ model: "tiny", content: "tell me a story" }));
    const last = events.at(-1);
    assert.equal(last?.type, "error");
    assert.equal(last.type === "error" && last.code, "neuron_lost");
    assert.equal(last.type === "error" && last.cost, 2 * 20, "the prompt is not charged for a failed job");
    const conversationId = events[0]?.type === "conversation" ? events[0].conversationId : "";
    const saved = (await asUser.chat.conversation({ id: conversationId })).messages[1];
    assert.equal(saved?.content, "Half a");
    assert.equal(saved?.finishNote, "the neuron went away");
    assert.equal(saved?.id, last.type === "error" ? last.messageId : undefined);
  });

  it("stopping mid-reply cancels the job and keeps what was delivered, charging it in full", async () => {
    const fabric = createFakeFabric();
    let jobSignal: AbortSignal | undefined;
    fabric.chat = async (options) => {
      jobSignal = options.signal;
      return {
        jobId: "job-stopped",
        neuronId: "fake-neuron",
        parts: (async function* () {
          yield {
            type: "text-delta",
            text: "Once upon",
            usage: { promptTokens: 4, completionTokens: 2 },
          } as const;
          // A neuron that would go on for ever, until its job is cancelled.
          await new Promise((resolve) => options.signal.addEventListener("abort", resolve, { once: true }));
        })(),
      };
    };
    fixture.services.fabric = fabric;
    let conversationId = "";
    for await (const event of await asUser.chat.send({ model: "tiny", content: "a long story" })) {
      if (event.type === "conversation") conversationId = event.conversationId;
      if (event.type === "delta") break;
    }
    assert.equal(jobSignal?.aborted, true, "the job was cancelled");
    const reply = (await asUser.chat.conversation({ id: conversationId })).messages[1];
    assert.equal(reply?.content, "Once upon");
    assert.equal(reply?.jobId, "job-stopped");
    assert.equal(reply?.finishNote, "stopped");
    assert.equal(reply?.cost, 4 * 10 + 2 * 20, "a stopped job pays for its prompt and what it delivered");
  });

  it("answers a refusal before the first part (no credit) with an error event, keeping the question", async () => {
    const fabric = createFakeFabric();
    fabric.chat = async () => {
      throw new HelexaError("insufficient_quota", "add credits to continue");
    };
    fixture.services.fabric = fabric;
    const events = await collect(await asUser.chat.send({ model: "tiny", content: "am I broke?" }));
    assert.deepEqual(events.slice(1), [
      {
        type: "error",
        code: "insufficient_quota",
        message: "add credits to continue",
        messageId: null,
        cost: 0,
      },
    ]);
    const conversationId = events[0]?.type === "conversation" ? events[0].conversationId : "";
    const { messages } = await asUser.chat.conversation({ id: conversationId });
    assert.deepEqual(
      messages.map((message) => message.role),
      ["user"],
    );
  });

  it("answers no_capacity when this cortex has no fabric", async () => {
    fixture.services.fabric = null;
    const events = await collect(await asUser.chat.send({ model: "tiny", content: "anyone there?" }));
    const last = events.at(-1);
    assert.equal(last?.type === "error" && last.code, "no_capacity");
  });

  it("renames and deletes the account's own conversation", async () => {
    fixture.services.fabric = createFakeFabric();
    const [opened] = await collect(await asUser.chat.send({ model: "tiny", content: "to be deleted" }));
    const id = opened?.type === "conversation" ? opened.conversationId : "";
    assert.deepEqual(await asUser.chat.rename({ id, title: "  Renamed  " }), { renamed: true });
    assert.equal((await asUser.chat.conversation({ id })).title, "Renamed");
    assert.deepEqual(await asUser.chat.delete({ id }), { deleted: true });
    await assert.rejects(asUser.chat.conversation({ id }), { name: "TRPCError", code: "NOT_FOUND" });
    assert.ok(!(await asUser.chat.conversations()).some((conversation) => conversation.id === id));
  });
});

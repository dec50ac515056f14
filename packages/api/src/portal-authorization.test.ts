// SPDX-License-Identifier: PolyForm-Shield-1.0
// Who may call what: another account's keys, neurons, chats and purchases stay out of reach, and so does admin.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { appRouter } from "./root.js";
import { createPortalFixture, type PortalCaller, type PortalFixture } from "./testing/portal-fixture.js";

/** Procedures anyone may call; every other one must refuse a caller without a session. */
const publicProcedures = new Set([
  "account.me",
  "account.providers",
  "account.signUp",
  "account.verifyEmail",
  "account.requestPasswordReset",
  "account.resetPassword",
  "chat.models",
  // An anonymous visitor's tab donates too: rate-limited per address (donate-router.test.ts).
  "donate.neuronToken",
  "donate.models",
  "stats.live",
]);

function callByPath(caller: PortalCaller, path: string, input: unknown): Promise<unknown> {
  const procedure = path
    .split(".")
    .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], caller);
  return (procedure as (input: unknown) => Promise<unknown>)(input);
}

describe("portal router authorization", () => {
  let fixture: PortalFixture;
  let admin: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let alice: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let bob: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let asAlice: PortalCaller;
  let asBob: PortalCaller;
  // Bob's things, which Alice tries to touch.
  let bobKey: { id: string; key: string };
  let bobNeuron: { id: string; token: string };
  let bobConversationId: string;
  let bobPurchaseId: string;

  before(async () => {
    fixture = await createPortalFixture();
    admin = await fixture.signUp({ email: "admin@example.com" });
    alice = await fixture.signUp({ email: "alice@example.com" });
    bob = await fixture.signUp({ email: "bob@example.com" });
    asAlice = await fixture.caller(alice.sessionId);
    asBob = await fixture.caller(bob.sessionId);

    bobKey = await asBob.keys.create({ name: "bob's key" });
    bobNeuron = await asBob.operator.register({ name: "bob's box" });
    const events = [];
    for await (const event of await asBob.chat.send({ model: "tiny", content: "hello there" }))
      events.push(event);
    const first = events[0];
    assert.equal(first?.type, "conversation");
    bobConversationId = first.type === "conversation" ? first.conversationId : "";
    bobPurchaseId = (await asBob.billing.checkout({ packId: "starter" })).purchaseId;
  });
  after(() => fixture.close());

  it("signs the first account up as admin and the others as users", () => {
    assert.equal(admin.account.role, "admin");
    assert.equal(alice.account.role, "user");
    assert.equal(bob.account.role, "user");
  });

  it("refuses to revoke another account's API key, and the key keeps working", async () => {
    await assert.rejects(asAlice.keys.revoke({ id: bobKey.id }), { name: "TRPCError", code: "FORBIDDEN" });
    const verified = await fixture.services.apiKeys.verifyApiKey(bobKey.key);
    assert.equal(verified?.accountId, bob.account.id);
    const [listed] = await asBob.keys.list();
    assert.equal(listed?.revokedAt, null);
  });

  it("refuses to revoke another account's neuron, and its token keeps working", async () => {
    await assert.rejects(asAlice.operator.revoke({ id: bobNeuron.id }), {
      name: "TRPCError",
      code: "FORBIDDEN",
    });
    const verified = await fixture.services.neurons.verifyNeuronToken(bobNeuron.token);
    assert.equal(verified?.neuronId, bobNeuron.id);
    assert.deepEqual(fixture.fabric.disconnected, [], "no neuron was disconnected");
  });

  it("hides another account's conversation from reading, renaming, deleting and appending", async () => {
    const before = await asBob.chat.conversation({ id: bobConversationId });
    assert.equal(before.messages.length, 2, "bob's question and the reply");

    await assert.rejects(asAlice.chat.conversation({ id: bobConversationId }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    await assert.rejects(asAlice.chat.delete({ id: bobConversationId }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    await assert.rejects(asAlice.chat.rename({ id: bobConversationId, title: "mine now" }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    await assert.rejects(
      (async () => {
        for await (const _ of await asAlice.chat.send({
          conversationId: bobConversationId,
          model: "tiny",
          content: "let me in",
        })) {
          // Draining: the refusal comes from the stream's first step.
        }
      })(),
      { name: "TRPCError", code: "NOT_FOUND" },
    );
    assert.equal(fixture.fabric.chats.filter((chat) => chat.accountId === alice.account.id).length, 0);

    const afterwards = await asBob.chat.conversation({ id: bobConversationId });
    assert.equal(afterwards.title, before.title);
    assert.deepEqual(
      afterwards.messages.map((message) => message.id),
      before.messages.map((message) => message.id),
    );
    assert.deepEqual(await asAlice.chat.conversations(), []);
  });

  it("hides another account's purchase, and cannot pay for it with the dev button", async () => {
    await assert.rejects(asAlice.billing.purchase({ id: bobPurchaseId }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    await assert.rejects(asAlice.billing.devPay({ id: bobPurchaseId }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    const purchase = await asBob.billing.purchase({ id: bobPurchaseId });
    assert.equal(purchase.status, "pending");
    assert.equal((await asBob.billing.balance()).balance, 0);
    assert.equal((await asAlice.billing.balance()).balance, 0);
    assert.deepEqual(await asAlice.billing.purchases(), []);
  });

  it("refuses to end another account's session by its public id", async () => {
    const bobSessions = await asBob.account.sessions();
    const bobCurrent = bobSessions.find((session) => session.current);
    assert.ok(bobCurrent, "bob's session list marks the session he called with");
    await assert.rejects(asAlice.account.endSession({ publicId: bobCurrent.publicId }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
    assert.ok(await fixture.services.auth.getActiveSession(bob.sessionId), "bob is still signed in");
  });

  it("answers UNAUTHORIZED to every protected procedure without a session", async () => {
    const anonymous = await fixture.caller(null);
    const protectedPaths = Object.keys(appRouter._def.procedures).filter(
      (path) => !publicProcedures.has(path),
    );
    assert.ok(protectedPaths.length > 30, `found ${protectedPaths.length} protected procedures`);
    for (const path of protectedPaths) {
      // Plausible input, so that only the missing session can be the reason for the refusal.
      const input = { id: bobConversationId, name: "x", packId: "starter", publicId: "x", limit: 10 };
      await assert.rejects(
        callByPath(anonymous, path, input),
        { name: "TRPCError", code: "UNAUTHORIZED" },
        path,
      );
    }
    // An ended session counts as none.
    const ended = await fixture.openSession(alice.account.id);
    await fixture.services.auth.endSession(ended);
    await assert.rejects((await fixture.caller(ended)).keys.list(), {
      name: "TRPCError",
      code: "UNAUTHORIZED",
    });
  });

  it("lets anyone call the public procedures", async () => {
    const anonymous = await fixture.caller(null);
    assert.equal(await anonymous.account.me(), null);
    assert.deepEqual(await anonymous.account.providers(), { oauth: [] });
    assert.ok(Array.isArray(await anonymous.chat.models()));
    assert.equal((await anonymous.stats.live()).neuronsOnline, 0);
  });

  it("refuses every admin procedure to a user, changing nothing", async () => {
    const adminInputs: Record<string, unknown> = {
      "admin.overview": undefined,
      "admin.models": undefined,
      "admin.upsertModel": {
        id: "sneaky-model",
        contextLength: 2048,
        pricePromptPerMillionCredits: 0,
        priceCompletionPerMillionCredits: 0,
      },
      "admin.deleteModel": { id: "tiny" },
      "admin.accounts": {},
      "admin.setSuspended": { accountId: admin.account.id, suspended: true },
      "admin.setRole": { accountId: alice.account.id, role: "admin" },
      "admin.neurons": {},
    };
    const adminPaths = Object.keys(appRouter._def.procedures).filter((path) => path.startsWith("admin."));
    assert.deepEqual(adminPaths.sort(), Object.keys(adminInputs).sort(), "every admin procedure is tried");
    for (const path of adminPaths) {
      await assert.rejects(
        callByPath(asAlice, path, adminInputs[path]),
        { name: "TRPCError", code: "FORBIDDEN" },
        path,
      );
    }
    assert.equal((await fixture.services.accounts.getAccount(alice.account.id))?.role, "user");
    assert.equal((await fixture.services.accounts.getAccount(admin.account.id))?.suspendedAt, null);
    assert.ok(await fixture.services.auth.getActiveSession(admin.sessionId), "the admin is still signed in");
    assert.equal(await fixture.services.catalog.getModel("sneaky-model"), null);

    // The same calls work for the admin, so the refusals above are about the caller.
    const asAdmin = await fixture.caller(admin.sessionId);
    const { total } = await asAdmin.admin.accounts({});
    assert.equal(total, 3);
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Admin actions with consequences: suspending ends sessions and stops keys at once; admins cannot lock themselves out.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPortalFixture, type PortalCaller, type PortalFixture } from "./testing/portal-fixture.js";

describe("admin router", () => {
  let fixture: PortalFixture;
  let admin: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let asAdmin: PortalCaller;
  before(async () => {
    fixture = await createPortalFixture();
    admin = await fixture.signUp({ email: "admin@example.com" });
    asAdmin = await fixture.caller(admin.sessionId);
  });
  after(() => fixture.close());

  it("setSuspended ends the account's sessions and its API key stops verifying at once", async () => {
    const user = await fixture.signUp({ email: "user@example.com" });
    const secondBrowser = await fixture.openSession(user.account.id);
    const { key } = await (await fixture.caller(user.sessionId)).keys.create({ name: "user key" });
    const bystander = await fixture.signUp({ email: "bystander@example.com" });
    const { key: bystanderKey } = await (await fixture.caller(bystander.sessionId)).keys.create({
      name: "b",
    });
    assert.ok(await fixture.services.apiKeys.verifyApiKey(key));

    assert.deepEqual(await asAdmin.admin.setSuspended({ accountId: user.account.id, suspended: true }), {
      suspended: true,
    });
    assert.equal(await fixture.services.auth.getActiveSession(user.sessionId), null);
    assert.equal(await fixture.services.auth.getActiveSession(secondBrowser), null);
    assert.equal(await fixture.services.apiKeys.verifyApiKey(key), null);
    await assert.rejects((await fixture.caller(user.sessionId)).keys.list(), {
      name: "TRPCError",
      code: "UNAUTHORIZED",
    });
    // Nobody else is touched.
    assert.ok(await fixture.services.auth.getActiveSession(bystander.sessionId));
    assert.ok(await fixture.services.apiKeys.verifyApiKey(bystanderKey));
    assert.ok(await fixture.services.auth.getActiveSession(admin.sessionId));

    const { accounts } = await asAdmin.admin.accounts({ search: "user@" });
    assert.equal(accounts.length, 1);
    assert.ok(accounts[0]?.suspendedAt instanceof Date);

    // Lifting the suspension brings the key back, but not the old sign-ins.
    await asAdmin.admin.setSuspended({ accountId: user.account.id, suspended: false });
    assert.ok(await fixture.services.apiKeys.verifyApiKey(key));
    assert.equal(await fixture.services.auth.getActiveSession(user.sessionId), null);
    assert.equal(await fixture.services.auth.getActiveSession(secondBrowser), null);
  });

  it("refuses to suspend or demote the calling admin, and answers NOT_FOUND for unknown accounts", async () => {
    await assert.rejects(asAdmin.admin.setSuspended({ accountId: admin.account.id, suspended: true }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
    await assert.rejects(asAdmin.admin.setRole({ accountId: admin.account.id, role: "user" }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
    const stored = await fixture.services.accounts.getAccount(admin.account.id);
    assert.equal(stored?.role, "admin");
    assert.equal(stored?.suspendedAt, null);
    await assert.rejects(asAdmin.admin.setSuspended({ accountId: "no-such-account", suspended: true }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
  });

  it("setRole promotes a user, who may then use admin procedures", async () => {
    const user = await fixture.signUp({ email: "promoted@example.com" });
    await assert.rejects((await fixture.caller(user.sessionId)).admin.overview(), {
      name: "TRPCError",
      code: "FORBIDDEN",
    });
    await asAdmin.admin.setRole({ accountId: user.account.id, role: "admin" });
    const overview = await (await fixture.caller(user.sessionId)).admin.overview();
    assert.ok(overview.accounts >= 2);
  });

  it("upserts a model with prices per million credits stored as micro-credits, and deletes it", async () => {
    await asAdmin.admin.upsertModel({
      id: "tiny-1b",
      contextLength: 4096,
      pricePromptPerMillionCredits: 0.25,
      priceCompletionPerMillionCredits: 1.5,
    });
    const model = await fixture.services.catalog.getModel("tiny-1b");
    assert.equal(model?.pricePromptPerMillion, 250_000);
    assert.equal(model?.priceCompletionPerMillion, 1_500_000);
    assert.deepEqual(await asAdmin.admin.deleteModel({ id: "tiny-1b" }), { deleted: true });
    await assert.rejects(asAdmin.admin.deleteModel({ id: "tiny-1b" }), {
      name: "TRPCError",
      code: "NOT_FOUND",
    });
  });
  it("keeps a model's MLC build for WebLLM tabs, refuses one without http(s) URLs, and clears it", async () => {
    const base = {
      id: "webllm-1b",
      contextLength: 4096,
      pricePromptPerMillionCredits: 0.25,
      priceCompletionPerMillionCredits: 1.5,
    };
    const mlc = {
      modelUrl: "https://models.example/webllm-1b-MLC/",
      modelLibraryUrl: "https://models.example/webllm-1b-webgpu.wasm",
      requiredFeatures: ["shader-f16"],
    };
    await asAdmin.admin.upsertModel({ ...base, mlc });
    assert.deepEqual((await fixture.services.catalog.getModel("webllm-1b"))?.mlc, mlc);
    await assert.rejects(
      asAdmin.admin.upsertModel({ ...base, mlc: { ...mlc, modelLibraryUrl: "file:///etc/passwd" } }),
      { name: "TRPCError", code: "BAD_REQUEST" },
    );
    await asAdmin.admin.upsertModel({ ...base, mlc: null });
    assert.equal((await fixture.services.catalog.getModel("webllm-1b"))?.mlc, null);
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// API keys from the portal: shown once, never listed, limits stored, revoked for good.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createPortalFixture, type PortalCaller, type PortalFixture } from "./testing/portal-fixture.js";

describe("keys router", () => {
  let fixture: PortalFixture;
  let owner: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let asOwner: PortalCaller;
  before(async () => {
    fixture = await createPortalFixture();
    owner = await fixture.signUp({ email: "owner@example.com" });
    asOwner = await fixture.caller(owner.sessionId);
  });
  after(() => fixture.close());

  it("returns the key once, with its limits stored, and never lists it", async () => {
    const created = await asOwner.keys.create({
      name: "  ci runner  ",
      spendLimitCredits: 2.5,
      rateLimitPerMinute: 60,
    });
    assert.match(created.key, /^sk-hx-/);
    assert.ok(created.key.startsWith(created.prefix), "the prefix is the key's visible start");
    assert.ok(created.prefix.length < created.key.length);
    assert.equal(created.gatewayUrl, "http://gateway.test");

    const listed = await asOwner.keys.list();
    assert.equal(listed.length, 1);
    const [record] = listed;
    assert.equal(record?.id, created.id);
    assert.equal(record?.name, "ci runner");
    assert.equal(record?.spendLimit, 2_500_000, "credits are stored as micro-credits");
    assert.equal(record?.rateLimitPerMinute, 60);
    assert.equal(record?.revokedAt, null);
    const wire = JSON.stringify(listed);
    assert.ok(!wire.includes(created.key), "the list never carries the key");
    assert.ok(!("secretHash" in (record ?? {})), "nor its hash");

    const verified = await fixture.services.apiKeys.verifyApiKey(created.key);
    assert.deepEqual(verified, {
      keyId: created.id,
      accountId: owner.account.id,
      spendLimit: 2_500_000,
      rateLimitPerMinute: 60,
    });
  });

  it("stores no limits when none are given", async () => {
    const created = await asOwner.keys.create({ name: "unlimited" });
    const verified = await fixture.services.apiKeys.verifyApiKey(created.key);
    assert.equal(verified?.spendLimit, null);
    assert.equal(verified?.rateLimitPerMinute, null);
  });

  it("refuses limits out of range with BAD_REQUEST and stores nothing", async () => {
    const before = (await asOwner.keys.list()).length;
    await assert.rejects(asOwner.keys.create({ name: "bad", spendLimitCredits: -1 }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
    await assert.rejects(asOwner.keys.create({ name: "bad", rateLimitPerMinute: 0.5 }), {
      name: "TRPCError",
      code: "BAD_REQUEST",
    });
    await assert.rejects(asOwner.keys.create({ name: "   " }), { name: "TRPCError", code: "BAD_REQUEST" });
    assert.equal((await asOwner.keys.list()).length, before);
  });

  it("revokes the account's own key once, after which it stops verifying", async () => {
    const created = await asOwner.keys.create({ name: "short-lived" });
    assert.deepEqual(await asOwner.keys.revoke({ id: created.id }), { revoked: true });
    assert.equal(await fixture.services.apiKeys.verifyApiKey(created.key), null);
    assert.deepEqual(await asOwner.keys.revoke({ id: created.id }), { revoked: false });
    const record = (await asOwner.keys.list()).find((key) => key.id === created.id);
    assert.ok(record?.revokedAt instanceof Date);
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Donation tokens for browser tabs: an account's tab earns for it, an anonymous one for the platform, both reused and rate-limited.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TRPCError } from "@trpc/server";
import type { PortalSession } from "./context.js";
import { appRouter } from "./root.js";
import { anonymousTokensPerHour } from "./routers/donate.js";
import { createPortalFixture, type PortalFixture } from "./testing/portal-fixture.js";
import { createCallerFactory } from "./trpc.js";

const createCaller = createCallerFactory(appRouter);

describe("donate router", () => {
  let fixture: PortalFixture;
  let donor: Awaited<ReturnType<PortalFixture["signUp"]>>;
  let session: PortalSession;
  before(async () => {
    fixture = await createPortalFixture();
    donor = await fixture.signUp({ email: "donor@example.com" });
    const active = await fixture.services.auth.getActiveSession(donor.sessionId);
    assert.ok(active);
    session = { sessionId: active.sessionId, publicId: active.publicId, account: active.account };
  });
  after(() => fixture.close());

  /** A caller from an address, signed in as the donor or not. */
  const callerFrom = (address: string, signedIn: boolean) =>
    createCaller({
      services: fixture.services,
      session: signedIn ? session : null,
      address,
      userAgent: "node:test",
    });

  it("gives a signed-in visitor a browser neuron of their account, reused while the tab keeps its token", async () => {
    const asDonor = callerFrom("192.0.2.1", true);
    const first = await asDonor.donate.neuronToken({});
    assert.match(first.token, /^nt-hx-/);
    assert.equal(first.anonymous, false);
    assert.equal(first.reused, false);
    assert.equal(first.cortexUrl, "ws://cortex.test:8040");
    const verified = await fixture.services.neurons.verifyNeuronToken(first.token);
    assert.deepEqual(verified, {
      neuronId: first.neuronId,
      accountId: donor.account.id,
      kind: "browser",
      name: "browser tab",
    });
    // The operator page lists it with the account's other neurons.
    const listed = await (await fixture.caller(donor.sessionId)).operator.neurons();
    assert.deepEqual(
      listed.map((neuron) => neuron.id),
      [first.neuronId],
    );

    const again = await asDonor.donate.neuronToken({ token: first.token });
    assert.deepEqual(again, { ...first, reused: true });

    // The same token asked for by someone signed out is not theirs to donate with: a new anonymous one.
    const signedOut = await callerFrom("192.0.2.1", false).donate.neuronToken({ token: first.token });
    assert.equal(signedOut.anonymous, true);
    assert.notEqual(signedOut.neuronId, first.neuronId);

    // A revoked token is replaced by a new neuron.
    await fixture.services.neurons.revokeNeuron({ neuronId: first.neuronId });
    const replaced = await asDonor.donate.neuronToken({ token: first.token, name: "laptop tab" });
    assert.equal(replaced.reused, false);
    assert.notEqual(replaced.neuronId, first.neuronId);
    assert.equal((await fixture.services.neurons.verifyNeuronToken(replaced.token))?.name, "laptop tab");
  });

  it("gives an anonymous visitor a token with no operator, and rate-limits them per address", async () => {
    const address = "198.51.100.20";
    const anonymous = callerFrom(address, false);
    const first = await anonymous.donate.neuronToken({});
    assert.equal(first.anonymous, true);
    assert.equal((await fixture.services.neurons.verifyNeuronToken(first.token))?.accountId, null);
    // Handing back the kept token makes nothing new, however often.
    for (let visit = 0; visit < anonymousTokensPerHour + 2; visit++) {
      assert.equal((await anonymous.donate.neuronToken({ token: first.token })).reused, true);
    }
    for (let made = 1; made < anonymousTokensPerHour; made++) await anonymous.donate.neuronToken({});
    await assert.rejects(anonymous.donate.neuronToken({}), (error: unknown) => {
      assert.ok(error instanceof TRPCError);
      assert.equal(error.code, "TOO_MANY_REQUESTS");
      assert.match(error.message, /anonymous donation tokens in the last hour/);
      return true;
    });
    // Another address, and the signed-in donor on this one, are not held back.
    assert.equal((await callerFrom("198.51.100.21", false).donate.neuronToken({})).anonymous, true);
    assert.equal((await callerFrom(address, true).donate.neuronToken({})).anonymous, false);
  });

  it("refuses a malformed name before it reaches the store", async () => {
    await assert.rejects(
      callerFrom("192.0.2.9", false).donate.neuronToken({ name: "x".repeat(81) }),
      (error: unknown) => error instanceof TRPCError && error.code === "BAD_REQUEST",
    );
  });
  it("lists the catalog's models with a file for tabs, smallest first, with their MLC build where the admin gave one", async () => {
    const catalog = fixture.services.catalog;
    const price = { pricePromptPerMillion: 1, priceCompletionPerMillion: 1, contextLength: 2048 };
    await catalog.upsertModel({ id: "no-file", ...price });
    await catalog.upsertModel({
      id: "big",
      sourceUrl: "https://models.example/big.gguf",
      sizeBytes: 2_000_000,
      ...price,
    });
    await catalog.upsertModel({
      id: "small",
      sourceUrl: "https://models.example/small.gguf",
      sha256: "A".repeat(64),
      sizeBytes: 1_000,
      mlc: {
        modelUrl: "https://models.example/small-MLC/",
        modelLibraryUrl: "https://models.example/small-webgpu.wasm",
        requiredFeatures: ["shader-f16"],
      },
      ...price,
    });
    const models = await callerFrom("192.0.2.9", false).donate.models();
    assert.deepEqual(
      models.map((model) => model.id),
      ["small", "big"],
      "no file, no listing; the smallest first",
    );
    assert.deepEqual(models[0], {
      id: "small",
      url: "/models/small/file",
      sha256: "a".repeat(64),
      sizeBytes: 1_000,
      contextLength: 2048,
      mlc: {
        modelUrl: "https://models.example/small-MLC/",
        modelLibraryUrl: "https://models.example/small-webgpu.wasm",
        requiredFeatures: ["shader-f16"],
      },
    });
    assert.equal("mlc" in models[1]!, false);
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Neuron tokens: registered once, stored hashed, verified to the operator's account, revocable.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { createNeuronStore } from "./neuron-store.js";
import { neurons } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

describeOnEachBackend("NeuronStore", (backend) => {
  backend.test("registers, verifies and revokes a neuron", async ({ db }) => {
    await using store = createNeuronStore({ db });
    const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
    const { neuronId, token } = await store.registerNeuron({ accountId: operator.id, name: "gpu-box" });
    assert.match(token, /^nt-hx-[0-9A-Za-z]{40}$/);
    const [row] = await db.select().from(neurons).where(eq(neurons.id, neuronId));
    assert.equal(row?.tokenHash, createHash("sha256").update(token).digest("hex"));

    assert.deepEqual(await store.verifyNeuronToken(token), {
      neuronId,
      accountId: operator.id,
      kind: "native",
      name: "gpu-box",
    });
    assert.equal(await store.verifyNeuronToken(token.replace("nt-hx-", "sk-hx-")), null);
    assert.equal(await store.verifyNeuronToken(`nt-hx-${"b".repeat(40)}`), null);

    await store.flushLastSeen();
    assert.ok((await store.listNeurons(operator.id))[0]?.lastSeenAt instanceof Date);
    assert.equal(await store.revokeNeuron({ neuronId }), true);
    assert.equal(await store.verifyNeuronToken(token), null);
  });

  backend.test(
    "a suspended operator's neurons stop verifying, and verify again when it is lifted",
    async ({ db }) => {
      await using store = createNeuronStore({ db });
      const accounts = createAccountStore({ db });
      const operator = await accounts.createAccount({ name: "operator" });
      const { token } = await store.registerNeuron({ accountId: operator.id, name: "box" });
      await accounts.setSuspended({ accountId: operator.id, suspended: true });
      assert.equal(await store.verifyNeuronToken(token), null);
      await accounts.setSuspended({ accountId: operator.id, suspended: false });
      assert.equal((await store.verifyNeuronToken(token))?.accountId, operator.id);
    },
  );

  backend.test("keeps the capabilities a neuron last reported", async ({ db }) => {
    await using store = createNeuronStore({ db });
    const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
    const { neuronId } = await store.registerNeuron({ accountId: operator.id, name: "box" });
    assert.equal((await store.listNeurons(operator.id))[0]?.lastCapabilities, null);
    const capabilities = {
      runtime: "llama.cpp",
      gpus: [{ name: "H200", memoryBytes: 141e9 }],
      models: ["m"],
    };
    assert.equal(await store.saveCapabilities({ neuronId, capabilities }), true);
    assert.deepEqual((await store.listNeurons(operator.id))[0]?.lastCapabilities, capabilities);
    const replaced = { runtime: "vllm", gpus: [], models: [] };
    await store.saveCapabilities({ neuronId, capabilities: replaced });
    assert.deepEqual((await store.listNeurons(operator.id))[0]?.lastCapabilities, replaced);
    assert.equal(await store.saveCapabilities({ neuronId: "no-such-neuron", capabilities }), false);
  });

  backend.test(
    "an anonymous donor's browser tab verifies with no operator; its creations are counted per address",
    async ({ db }) => {
      await using store = createNeuronStore({ db });
      const hourAgo = new Date(Date.now() - 3_600_000);
      const anonymous = await store.registerNeuron({
        accountId: null,
        name: "browser tab",
        kind: "browser",
        createdFromAddress: "198.51.100.7",
      });
      assert.deepEqual(await store.verifyNeuronToken(anonymous.token), {
        neuronId: anonymous.neuronId,
        accountId: null,
        kind: "browser",
        name: "browser tab",
      });
      await store.registerNeuron({
        accountId: null,
        name: "browser tab",
        kind: "browser",
        createdFromAddress: "198.51.100.7",
      });
      await store.registerNeuron({
        accountId: null,
        name: "browser tab",
        kind: "browser",
        createdFromAddress: "203.0.113.9",
      });
      const donor = await createAccountStore({ db }).createAccount({ name: "donor" });
      await store.registerNeuron({ accountId: donor.id, name: "my tab", kind: "browser" });
      await store.registerNeuron({ accountId: donor.id, name: "box" });
      const since = { since: hourAgo };
      assert.equal(await store.countBrowserNeuronsSince({ ...since, anonymousAddress: "198.51.100.7" }), 2);
      assert.equal(await store.countBrowserNeuronsSince({ ...since, anonymousAddress: "203.0.113.9" }), 1);
      assert.equal(await store.countBrowserNeuronsSince({ ...since, accountId: donor.id }), 1);
      assert.equal(
        await store.countBrowserNeuronsSince({ since: new Date(Date.now() + 60_000), accountId: donor.id }),
        0,
      );
      // Only a browser tab may go without an operator: the database refuses a native one too.
      await assert.rejects(store.registerNeuron({ accountId: null, name: "box" }), /only a browser neuron/);
      await assert.rejects(
        db.insert(neurons).values({ id: "x", accountId: null, name: "box", prefix: "p", tokenHash: "h" }),
      );
    },
  );
});

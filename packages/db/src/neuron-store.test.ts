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
});

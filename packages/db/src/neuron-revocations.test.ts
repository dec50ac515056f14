// SPDX-License-Identifier: PolyForm-Shield-1.0
// Revoking, rotating and suspending announce themselves to every listener on commit, and only then.

import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import {
  announceNeuronRevocation,
  type NeuronRevocation,
  neuronRevocationChannel,
  watchNeuronRevocations,
} from "./neuron-revocations.js";
import { createNeuronStore } from "./neuron-store.js";
import { neurons } from "./schema.js";
import { hashSecretToken } from "./secret-token.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";
import type { TestDatabase } from "./testing/throwaway-database.js";

/** Follows the channel; `next` waits for what arrives after everything seen so far. */
async function watch(database: TestDatabase) {
  const revocations: NeuronRevocation[] = [];
  const invalid: string[] = [];
  const subscription = await watchNeuronRevocations(database, {
    onRevocation: (revocation) => revocations.push(revocation),
    onMissedRevocations: () => {},
    onInvalidPayload: (payload) => invalid.push(payload),
  });
  let seen = 0;
  return {
    invalid,
    subscription,
    /**
     * Waits for a sentinel sent now: notifications arrive in commit order, so everything committed
     * before it has arrived when it does.
     */
    async sinceLastCall(): Promise<NeuronRevocation[]> {
      const sentinel = `sentinel-${Math.random()}`;
      await announceNeuronRevocation(database.db, { reason: "revoked", neuronId: sentinel });
      const deadline = Date.now() + 5_000;
      while (
        !revocations.some((revocation) => "neuronId" in revocation && revocation.neuronId === sentinel)
      ) {
        if (Date.now() > deadline) throw new Error("the sentinel revocation never arrived");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const fresh = revocations.slice(seen, -1);
      seen = revocations.length;
      return fresh;
    },
  };
}

describeOnEachBackend("neuron revocations", (backend) => {
  backend.test("a revoked neuron is announced once; a refused revocation is not", async (database) => {
    const { db } = database;
    await using store = createNeuronStore({ db });
    const accounts = createAccountStore({ db });
    const operator = await accounts.createAccount({ name: "operator" });
    const stranger = await accounts.createAccount({ name: "stranger" });
    const { neuronId } = await store.registerNeuron({ accountId: operator.id, name: "box" });
    const watcher = await watch(database);
    await using _subscription = watcher.subscription;

    assert.equal(await store.revokeNeuron({ neuronId, accountId: stranger.id }), false);
    assert.deepEqual(await watcher.sinceLastCall(), [], "another account's revocation changes nothing");
    assert.equal(await store.revokeNeuron({ neuronId, accountId: operator.id }), true);
    assert.equal(await store.revokeNeuron({ neuronId }), false);
    assert.deepEqual(await watcher.sinceLastCall(), [{ reason: "revoked", neuronId }]);
  });

  backend.test("a revocation rolled back with its transaction is never announced", async (database) => {
    const { db } = database;
    await using store = createNeuronStore({ db });
    const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
    const { neuronId, token } = await store.registerNeuron({ accountId: operator.id, name: "box" });
    const watcher = await watch(database);
    await using _subscription = watcher.subscription;
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.update(neurons).set({ revokedAt: new Date() }).where(eq(neurons.id, neuronId));
        await announceNeuronRevocation(tx, { reason: "revoked", neuronId });
        throw new Error("the revocation failed after announcing");
      }),
      /failed after announcing/,
    );
    assert.deepEqual(await watcher.sinceLastCall(), []);
    assert.equal((await store.verifyNeuronToken(token))?.neuronId, neuronId, "still admitted");
  });

  backend.test(
    "a rotated token is announced: the old token stops working, the new one works",
    async (database) => {
      const { db } = database;
      await using store = createNeuronStore({ db });
      const accounts = createAccountStore({ db });
      const operator = await accounts.createAccount({ name: "operator" });
      const stranger = await accounts.createAccount({ name: "stranger" });
      const { neuronId, token } = await store.registerNeuron({ accountId: operator.id, name: "box" });
      const watcher = await watch(database);
      await using _subscription = watcher.subscription;

      assert.equal(await store.rotateNeuronToken({ neuronId, accountId: stranger.id }), null);
      const rotated = await store.rotateNeuronToken({ neuronId, accountId: operator.id });
      assert.ok(rotated);
      assert.notEqual(rotated.token, token);
      assert.equal(await store.verifyNeuronToken(token), null);
      assert.equal((await store.verifyNeuronToken(rotated.token))?.neuronId, neuronId);
      const [listed] = await store.listNeurons(operator.id);
      assert.equal(listed?.prefix, rotated.token.slice(0, listed?.prefix.length));
      assert.deepEqual(await watcher.sinceLastCall(), [{ reason: "token_rotated", neuronId }]);

      await store.revokeNeuron({ neuronId });
      assert.equal(await store.rotateNeuronToken({ neuronId }), null, "a revoked neuron gets no new token");
      assert.deepEqual(await watcher.sinceLastCall(), [{ reason: "revoked", neuronId }]);
    },
  );

  backend.test(
    "suspending an operator announces the account once; lifting it announces nothing",
    async (database) => {
      const { db } = database;
      const accounts = createAccountStore({ db });
      const operator = await accounts.createAccount({ name: "operator" });
      const watcher = await watch(database);
      await using _subscription = watcher.subscription;
      await accounts.setSuspended({ accountId: operator.id, suspended: true });
      await accounts.setSuspended({ accountId: operator.id, suspended: false });
      assert.equal(await accounts.setSuspended({ accountId: "no-such-account", suspended: true }), false);
      assert.deepEqual(await watcher.sinceLastCall(), [
        { reason: "account_suspended", accountId: operator.id },
      ]);
    },
  );

  backend.test("a payload that is not a revocation is reported, not acted on", async (database) => {
    const watcher = await watch(database);
    await using _subscription = watcher.subscription;
    await database.db.execute(sql`select pg_notify(${neuronRevocationChannel}, 'not json')`);
    await database.db.execute(sql`select pg_notify(${neuronRevocationChannel}, '{"reason":"revoked"}')`);
    assert.deepEqual(await watcher.sinceLastCall(), []);
    assert.deepEqual(watcher.invalid, ["not json", '{"reason":"revoked"}']);
  });

  backend.test(
    "findRevokedNeurons names the connected neurons whose token no longer admits them",
    async (database) => {
      const { db } = database;
      await using store = createNeuronStore({ db });
      const accounts = createAccountStore({ db });
      const operator = await accounts.createAccount({ name: "operator" });
      const suspended = await accounts.createAccount({ name: "suspended operator" });
      const register = async (accountId: string, name: string) => {
        const neuron = await store.registerNeuron({ accountId, name });
        return { neuronId: neuron.neuronId, tokenHash: hashSecretToken(neuron.token) };
      };
      const valid = await register(operator.id, "valid");
      const revoked = await register(operator.id, "revoked");
      const rotated = await register(operator.id, "rotated");
      const ofSuspended = await register(suspended.id, "of a suspended account");
      await store.revokeNeuron({ neuronId: revoked.neuronId });
      await store.rotateNeuronToken({ neuronId: rotated.neuronId });
      await accounts.setSuspended({ accountId: suspended.id, suspended: true });
      const gone = { neuronId: "never-registered", tokenHash: "0".repeat(64) };

      const found = await store.findRevokedNeurons([valid, revoked, rotated, ofSuspended, gone]);
      assert.deepEqual(
        found.sort(),
        [revoked.neuronId, rotated.neuronId, ofSuspended.neuronId, gone.neuronId].sort(),
      );
      assert.deepEqual(await store.findRevokedNeurons([]), []);
      assert.deepEqual(await store.findRevokedNeurons([valid]), []);
    },
  );
});

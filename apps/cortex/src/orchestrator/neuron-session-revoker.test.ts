// SPDX-License-Identifier: PolyForm-Shield-1.0
// A token check that overlaps a revocation of that neuron (or its operator) is asked again; others are not.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NeuronSessionRevoker } from "./neuron-session-revoker.js";

const neuron = { neuronId: "neuron-1", operatorAccountId: "operator-1" };

describe("NeuronSessionRevoker token checks", () => {
  it("a revocation of the neuron heard during its check makes the answer stale, once", () => {
    const revoker = new NeuronSessionRevoker({ closeCode: 4001 });
    const check = revoker.beginCheck();
    assert.equal(revoker.revoke({ reason: "revoked", neuronId: "neuron-1" }), 0, "no session to close yet");
    assert.equal(check.revokedMeanwhile(neuron), true);
    assert.equal(check.revokedMeanwhile(neuron), false, "the second answer was read after it");
    check.end();
  });

  it("a suspension of its operator counts; another neuron's or account's revocation does not", () => {
    const revoker = new NeuronSessionRevoker({ closeCode: 4001 });
    const check = revoker.beginCheck();
    revoker.revoke({ reason: "revoked", neuronId: "neuron-2" });
    revoker.revoke({ reason: "account_suspended", accountId: "operator-2" });
    assert.equal(check.revokedMeanwhile(neuron), false);
    revoker.revoke({ reason: "account_suspended", accountId: "operator-1" });
    assert.equal(check.revokedMeanwhile(neuron), true);
    check.end();
  });

  it("missed revocations make every check in flight stale; an ended check hears nothing", () => {
    const revoker = new NeuronSessionRevoker({ closeCode: 4001 });
    const ended = revoker.beginCheck();
    ended.end();
    const check = revoker.beginCheck();
    revoker.missedRevocations();
    revoker.revoke({ reason: "revoked", neuronId: "neuron-1" });
    assert.equal(check.revokedMeanwhile({ neuronId: "any", operatorAccountId: null }), true);
    assert.equal(ended.revokedMeanwhile(neuron), false);
    assert.deepEqual(revoker.credentials(), []);
    check.end();
  });
});

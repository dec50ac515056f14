// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the neuron's provisioning settings: the memory budget in bytes or with a unit, and provisioning on or off.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./load-config.js";

const home = mkdtempSync(join(tmpdir(), "helexa-memory-budget-"));
after(() => rmSync(home, { recursive: true, force: true }));

function neuronWith(environment: Record<string, string>) {
  return loadConfig({ environment: { HELEXA_HOME: home, ...environment }, onWarning: () => {} }).neuron;
}

describe("neuron provisioning settings", () => {
  it("has provisioning on and no fixed budget by default (the neuron then takes half the memory)", () => {
    const neuron = neuronWith({});
    assert.equal(neuron.provisioning, true);
    assert.equal(neuron.memoryBudgetBytes, undefined);
    assert.equal(neuronWith({ HELEXA_NEURON_PROVISIONING: "off" }).provisioning, false);
  });

  it("reads the budget as bytes, or with a decimal (GB) or binary (GiB) unit", () => {
    const budget = (text: string) =>
      neuronWith({ HELEXA_NEURON_MEMORY_BUDGET_BYTES: text }).memoryBudgetBytes;
    assert.equal(budget("8000000000"), 8e9);
    assert.equal(budget("8GB"), 8e9);
    assert.equal(budget("7.5 GiB"), 7.5 * 2 ** 30);
    assert.equal(budget("512mb"), 512e6);
  });

  it("refuses a budget it cannot read, saying what it accepts", () => {
    for (const text of ["eight gigabytes", "8G", "0", "-1GB"]) {
      assert.throws(
        () => neuronWith({ HELEXA_NEURON_MEMORY_BUDGET_BYTES: text }),
        (error) =>
          error instanceof ConfigError &&
          /neuron\.memoryBudgetBytes.*must be a number of bytes, such as 8000000000, 8GB or 7\.5GiB/.test(
            error.message,
          ),
      );
    }
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the JSON logger: levels, fields, children.

import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "./logger.js";

test("writes one JSON line per event at or above the level, with child fields", () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "info", stream: { write: (line) => lines.push(line) } });
  logger.debug("hidden");
  logger.child({ requestId: "r1" }).warn("job.failed", { code: "neuron_lost" });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0] ?? "");
  assert.equal(record.level, "warn");
  assert.equal(record.event, "job.failed");
  assert.equal(record.requestId, "r1");
  assert.equal(record.code, "neuron_lost");
});

test("text format puts the event first and fields as key=value", () => {
  const lines: string[] = [];
  createLogger({ format: "text", stream: { write: (line) => lines.push(line) } }).info("neuron.joined", {
    neuronId: "n1",
    models: ["a"],
  });
  assert.match(lines[0] ?? "", /info {2}neuron\.joined neuronId=n1 models=\["a"\]/);
});

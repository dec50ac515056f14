// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests that the default model entry is self-consistent: a URL to its file, a well-formed checksum.

import assert from "node:assert/strict";
import { it } from "node:test";
import { defaultModel } from "./default-model.js";

it("describes one file that the URL, the name and the checksum agree on", () => {
  const url = new URL(defaultModel.url);
  assert.equal(url.protocol, "https:");
  assert.equal(url.pathname.split("/").at(-1), defaultModel.fileName);
  assert.match(defaultModel.sha256, /^[0-9a-f]{64}$/);
  assert.ok(Number.isSafeInteger(defaultModel.sizeBytes) && defaultModel.sizeBytes > 100_000_000);
  assert.equal(defaultModel.contextLength, 32768);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for reading `helexa up`'s banner.

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseUpBanner } from "./up-banner.js";

const banner = `{"time":"2026-01-01T00:00:00.000Z","level":"info","event":"neuron.joined","models":["helexa-bench"]}

helexa is up.

  gateway   http://127.0.0.1:41234/v1
  api key   sk-hx-abcDEF123
  model     helexa-bench
  neuron    http://127.0.0.1:41235/v1 (its own API, this machine only)

Try it:

  curl http://127.0.0.1:41234/v1/chat/completions \\
    -H "Authorization: Bearer sk-hx-abcDEF123" \\
`;

test("reads the gateway, key and model from the banner among log lines", () => {
  assert.deepEqual(parseUpBanner(banner), {
    gatewayUrl: "http://127.0.0.1:41234/v1",
    apiKey: "sk-hx-abcDEF123",
    modelId: "helexa-bench",
  });
});

test("is null while the banner has only partly arrived", () => {
  const partial = banner.slice(0, banner.indexOf("  model"));
  assert.equal(parseUpBanner(partial), null);
});

test("does not take the curl example's URL for the gateway", () => {
  const withoutGatewayLine = banner.replace(/^ {2}gateway .*$/m, "");
  assert.equal(parseUpBanner(withoutGatewayLine), null);
});

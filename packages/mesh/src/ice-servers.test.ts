// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for turning browser-style ICE server entries into node-datachannel's.

import assert from "node:assert/strict";
import { test } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { toNativeIceServers } from "./ice-servers.js";

test("STUN and TURN URLs become host, port and relay type", () => {
  const native = toNativeIceServers([
    { urls: "stun:stun.example.org" },
    { urls: ["stun:[2001:db8::1]:19302"] },
    {
      urls: ["turn:turn.example.org?transport=tcp", "turn:turn.example.org:3479", "turns:turn.example.org"],
      username: "neuron:1",
      credential: "p@ss:word",
    },
  ]);
  assert.deepEqual(native, [
    { hostname: "stun.example.org", port: 3478 },
    { hostname: "2001:db8::1", port: 19302 },
    {
      hostname: "turn.example.org",
      port: 3478,
      username: "neuron:1",
      password: "p@ss:word",
      relayType: "TurnTcp",
    },
    {
      hostname: "turn.example.org",
      port: 3479,
      username: "neuron:1",
      password: "p@ss:word",
      relayType: "TurnUdp",
    },
    {
      hostname: "turn.example.org",
      port: 5349,
      username: "neuron:1",
      password: "p@ss:word",
      relayType: "TurnTls",
    },
  ]);
});

test("no servers means no servers, not a public default", () => {
  assert.deepEqual(toNativeIceServers([]), []);
});

test("URLs libdatachannel cannot use are refused with the URL in the message", () => {
  const cases: Array<[Parameters<typeof toNativeIceServers>[0], RegExp]> = [
    [[{ urls: "http://stun.example.org" }], /not understood: http:/],
    [[{ urls: "stuns:stun.example.org" }], /stuns: is not supported/],
    [[{ urls: "turn:turn.example.org" }], /needs a username and credential/],
    [[{ urls: "stun:stun.example.org:70000" }], /port out of range/],
  ];
  for (const [servers, message] of cases) {
    assert.throws(
      () => toNativeIceServers(servers),
      (error) => HelexaError.is(error) && error.code === "invalid_request" && message.test(error.message),
    );
  }
});

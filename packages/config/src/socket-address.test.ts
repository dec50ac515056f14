// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of listen address parsing: the accepted spellings, the rejected ones, and the canonical text.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "./config-error.js";
import { formatSocketAddress, parseSocketAddress } from "./socket-address.js";

describe("parseSocketAddress", () => {
  const accepted: Array<[string, string, number]> = [
    ["127.0.0.1:8080", "127.0.0.1", 8080],
    ["localhost:1", "localhost", 1],
    ["cortex.example.com:65535", "cortex.example.com", 65535],
    [":9050", "0.0.0.0", 9050],
    ["8060", "0.0.0.0", 8060],
    [" 0.0.0.0:80 ", "0.0.0.0", 80],
    ["[::1]:8040", "::1", 8040],
    ["[::]:443", "::", 443],
  ];
  for (const [text, host, port] of accepted) {
    it(`reads ${JSON.stringify(text)} as ${host} port ${port}`, () => {
      assert.deepEqual(parseSocketAddress(text), { host, port });
    });
  }

  const rejected = [
    "",
    "localhost",
    "localhost:",
    "localhost:0",
    "localhost:65536",
    "localhost:80a",
    "localhost:-1",
    "host:+80",
    "::1:8080",
    "[::1]",
    "[nothex]:80",
    "a b:80",
    "http://localhost:80",
  ];
  for (const text of rejected) {
    it(`rejects ${JSON.stringify(text)} with a ConfigError naming what it accepts`, () => {
      assert.throws(
        () => parseSocketAddress(text),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.exitCode === 2 &&
          error.message.includes(JSON.stringify(text)) &&
          error.message.includes("port from 1 to 65535"),
      );
    });
  }

  it("formats IPv6 hosts in brackets so the text parses back to the same address", () => {
    for (const text of ["[::1]:8040", "127.0.0.1:8080"]) {
      assert.equal(formatSocketAddress(parseSocketAddress(text)), text);
    }
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The data channel through a TURN relay only (coturn from Debian): it opens, carries messages, and fails without the relay.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { requireLoopbackOnly } from "./testing/loopback-only.js";
import { createPeerPair } from "./testing/peer-pair.js";

const turnserverPath = "/usr/bin/turnserver";
const user = { username: "helexa", credential: "relay-secret" };
let turn: { process: ChildProcess; port: number; log: () => string } | null = null;

/** A free UDP port on loopback, for the TURN server to listen on. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

before(async () => {
  if (!existsSync(turnserverPath)) return;
  const port = await freeUdpPort();
  let output = "";
  const child = spawn(
    turnserverPath,
    [
      "-n",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--min-port=49160",
      "--max-port=49400",
      "--lt-cred-mech",
      `--user=${user.username}:${user.credential}`,
      "--realm=helexa.test",
      "--fingerprint",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      // Everything here is on loopback; coturn refuses to relay to it unless told.
      "--allow-loopback-peers",
      "--log-file=stdout",
      "--simple-log",
      "--verbose",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  turn = { process: child, port, log: () => output };
  // Ready once it says it listens on the port.
  const deadline = Date.now() + 10_000;
  while (!/listener opened on|Total UDP servers/i.test(output) && Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`turnserver exited ${child.exitCode}:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

after(() => {
  turn?.process.kill("SIGKILL");
});

function skipWithoutTurn(t: import("node:test").TestContext): boolean {
  if (turn) return false;
  if (process.env.CI === "true") assert.fail(`${turnserverPath} is missing (apt-get install coturn)`);
  t.skip(`${turnserverPath} is missing (apt-get install coturn)`);
  return true;
}

test("with relay-only ICE the data channel opens through the TURN server and carries messages both ways", async (t) => {
  if (!requireLoopbackOnly(t) || skipWithoutTurn(t) || !turn) return;
  const iceServers = [{ urls: `turn:127.0.0.1:${turn.port}?transport=udp`, ...user }];
  await using pair = createPeerPair({
    shared: { iceServers, iceTransportPolicy: "relay", openTimeoutMs: 15_000 },
  });
  await pair.opened;
  const candidates = pair.deliveries.flatMap(({ signal }) =>
    signal.type === "signal.candidate" ? [signal] : [],
  );
  assert.ok(candidates.length > 0, "candidates were signalled");
  for (const { candidate } of candidates)
    assert.match(candidate, / typ relay /, `only relay candidates: ${candidate}`);
  // Which pair carries the channel is not asserted here: libdatachannel's relay policy only keeps
  // non-relay candidates out of the signalling, and libjuice still sends checks from its host socket
  // (libdatachannel#1587, libjuice#345), which on one loopback reach the other end directly. The
  // namespace test (turn-relay-namespaces.test.ts), where only the TURN server is reachable, asserts it.
  const received: string[] = [];
  const done = new Promise<void>((resolve) => {
    pair.answerer.onMessage((message) => {
      received.push(message);
      if (received.length === 50) resolve();
    });
  });
  for (let index = 0; index < 50; index++) pair.offerer.send(`through the relay ${index}`);
  await done;
  assert.equal(received[49], "through the relay 49");
  const echoed = new Promise<string>((resolve) => pair.offerer.onMessage(resolve));
  pair.answerer.send("and back");
  assert.equal(await echoed, "and back");
  assert.match(turn.log(), /ALLOCATE processed, success/i, "the TURN server allocated relays");
});

test("with relay-only ICE and a wrong TURN password the channel never opens: no other path exists", async (t) => {
  if (!requireLoopbackOnly(t) || skipWithoutTurn(t) || !turn) return;
  const iceServers = [
    { urls: `turn:127.0.0.1:${turn.port}?transport=udp`, username: user.username, credential: "wrong" },
  ];
  await using pair = createPeerPair({
    shared: { iceServers, iceTransportPolicy: "relay", openTimeoutMs: 4000 },
  });
  await assert.rejects(pair.opened);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Three network namespaces: two peer sides with no route to each other, joined only through coturn in the third.
//
//   side a: eth0 10.200.1.2/24 ──veth── 10.200.1.1 relay-a ┐
//                                                          ├─ coturn, listening on both, relaying from 10.200.0.1 (lo)
//   side b: eth0 10.200.2.2/24 ──veth── 10.200.2.1 relay-b ┘
//
// The sides have only their own /24 and no default route, so nothing of side a can reach side b, nor
// the relay address: the one path left is a's TURN allocation to b's, both inside the relay namespace,
// and ICE must end on a relay pair at both ends. IP forwarding is off there as in any new namespace.
//
// Each namespace belongs to an anchor process (`unshare -n`), not to `ip netns add`: a name in
// /run/netns needs a mount the test's own user namespace (scripts/in-netns.mjs) may not make, and
// an anchored namespace, its veth and its addresses vanish with the process, crash or not. Anchors
// and peer processes exit when their stdin closes (the test died); coturn gets SIGKILL by PR_SET_PDEATHSIG.

import { type ChildProcessWithoutNullStreams, execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export const turnserverPath = "/usr/bin/turnserver";
const TURN_PORT = 3478;
const READY_TIMEOUT_MS = 10_000;

export const relayAddresses = {
  a: { peer: "10.200.1.2", turn: "10.200.1.1" },
  b: { peer: "10.200.2.2", turn: "10.200.2.1" },
  relay: "10.200.0.1",
} as const;

export type RelaySide = "a" | "b";

export interface RelayTopologyOptions {
  username: string;
  credential: string;
  realm: string;
}

export interface RelayTopology extends AsyncDisposable {
  /** Network namespace files to run a process in (`nsenter --net=`), one per side. */
  namespaces: Record<RelaySide, string>;
  /** The TURN URL each side can reach: coturn's address on that side's link. */
  turnUrls: Record<RelaySide, string>;
  /** coturn's log so far. */
  turnLog(): string;
}

/** Null when this machine can build the topology, else why not (no root, no `ip`, no veth, no coturn). */
export function relayTopologyUnavailableReason(): string | null {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (!existsSync(turnserverPath)) return `${turnserverPath} is missing (apt-get install coturn)`;
  for (const tool of ["nsenter", "setpriv"]) {
    const probe = spawnSync(tool, ["--version"], { encoding: "utf8" });
    if (probe.error) return `${tool} is missing (util-linux): ${probe.error.message}`;
  }
  // One probe for root (CAP_SYS_ADMIN, CAP_NET_ADMIN), `ip` and veth support; the namespace dies with it.
  const probe = spawnSync(
    "unshare",
    ["-n", "ip", "link", "add", "probe-a", "type", "veth", "peer", "name", "probe-b"],
    {
      encoding: "utf8",
    },
  );
  if (probe.error) return `unshare is missing (util-linux): ${probe.error.message}`;
  if (probe.status !== 0) {
    const said = (probe.stderr || `exit ${probe.status}`).trim().split("\n")[0];
    return `cannot make a network namespace with a veth pair (needs root and iproute2): ${said}`;
  }
  return null;
}

interface Anchor {
  child: ChildProcessWithoutNullStreams;
  netns: string;
}

async function startAnchor(): Promise<Anchor> {
  // `read` returns when stdin closes, so the namespace ends with the test even if it is killed.
  const child = spawn("unshare", ["-n", "--", "sh", "-c", "ip link set lo up && echo ready && read _"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  // Until it says so, the process may not have left the test's namespace yet.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!output.includes("ready")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`namespace anchor did not start: ${output.trim() || `exit ${child.exitCode}`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { child, netns: `/proc/${child.pid}/ns/net` };
}

async function stopProcess(child: ChildProcessWithoutNullStreams, gentle: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  gentle();
  const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(killer);
}

/** Runs `ip` commands inside a namespace as one batch. */
async function ipBatch(netns: string, commands: string[]): Promise<void> {
  const child = execFileAsync("nsenter", [`--net=${netns}`, "ip", "-batch", "-"]);
  child.child.stdin?.end(`${commands.join("\n")}\n`);
  try {
    await child;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`ip -batch in ${netns} failed: ${stderr.trim()}\n${commands.join("\n")}`);
  }
}

export async function createRelayTopology(options: RelayTopologyOptions): Promise<RelayTopology> {
  const anchors: Anchor[] = [];
  let turn: ChildProcessWithoutNullStreams | null = null;
  let log = "";

  const dispose = async () => {
    const stopping: Promise<void>[] = [];
    if (turn !== null) {
      const server = turn;
      stopping.push(stopProcess(server, () => server.kill("SIGTERM")));
    }
    for (const anchor of anchors) stopping.push(stopProcess(anchor.child, () => anchor.child.stdin.end()));
    await Promise.all(stopping);
  };

  try {
    for (let index = 0; index < 3; index++) anchors.push(await startAnchor());
    const [relayNamespace, sideA, sideB] = anchors.map((anchor) => anchor.netns) as [string, string, string];
    const pidOf = (netns: string) => netns.split("/")[2];
    // Both veth ends are made in place: nothing ever appears in the test's own namespace, which other
    // test files check is loopback only.
    await ipBatch(relayNamespace, [
      `link add relay-a type veth peer name eth0 netns ${pidOf(sideA)}`,
      `link add relay-b type veth peer name eth0 netns ${pidOf(sideB)}`,
      `address add ${relayAddresses.a.turn}/24 dev relay-a`,
      `address add ${relayAddresses.b.turn}/24 dev relay-b`,
      `address add ${relayAddresses.relay}/32 dev lo`,
      "link set relay-a up",
      "link set relay-b up",
    ]);
    await ipBatch(sideA, [`address add ${relayAddresses.a.peer}/24 dev eth0`, "link set eth0 up"]);
    await ipBatch(sideB, [`address add ${relayAddresses.b.peer}/24 dev eth0`, "link set eth0 up"]);

    const server = spawn(
      "nsenter",
      [
        `--net=${relayNamespace}`,
        "setpriv",
        "--pdeathsig",
        "KILL",
        turnserverPath,
        "-n",
        `--listening-ip=${relayAddresses.a.turn}`,
        `--listening-ip=${relayAddresses.b.turn}`,
        `--relay-ip=${relayAddresses.relay}`,
        `--listening-port=${TURN_PORT}`,
        "--lt-cred-mech",
        `--user=${options.username}:${options.credential}`,
        `--realm=${options.realm}`,
        "--fingerprint",
        "--no-tls",
        "--no-dtls",
        "--no-tcp",
        "--no-tcp-relay",
        "--no-cli",
        "--log-file=stdout",
        "--simple-log",
        "--verbose",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    turn = server;
    server.stdout.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    server.stderr.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const listening = (address: string) => log.includes(`UDP listener opened on: ${address}:${TURN_PORT}`);
    while (!listening(relayAddresses.a.turn) || !listening(relayAddresses.b.turn)) {
      if (server.exitCode !== null || server.signalCode !== null || Date.now() > deadline) {
        throw new Error(`turnserver did not start listening:\n${log.slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    return {
      namespaces: { a: sideA, b: sideB },
      turnUrls: {
        a: `turn:${relayAddresses.a.turn}:${TURN_PORT}?transport=udp`,
        b: `turn:${relayAddresses.b.turn}:${TURN_PORT}?transport=udp`,
      },
      turnLog: () => log,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

#!/usr/bin/env node
// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs a command inside a fresh network namespace with only loopback up, so WebRTC tests cannot reach any network.
//
// Usage: node scripts/in-netns.mjs <command> [args...]
// Where no namespace can be made (no unshare, user namespaces disabled, not Linux), it prints
// "skipped: <reason>" and exits 0, or exits 1 when CI=true: a CI run must not pass by skipping.

import { spawn, spawnSync } from "node:child_process";
import { networkInterfaces } from "node:os";
import process from "node:process";

// Not HELEXA_-prefixed: helexa warns about HELEXA_ variables it does not know, and the children inherit this one.
const MARKER = "IN_HELEXA_TEST_NETNS";
const command = process.argv.slice(2);

if (command.length === 0) {
  process.stderr.write("usage: node scripts/in-netns.mjs <command> [args...]\n");
  process.exit(2);
}

// `exec "$@"` keeps the command's own exit status and signals; `sh` is $0 for the inner script.
const innerScript = 'ip link set lo up && exec "$@"';

function skip(reason) {
  if (process.env.CI === "true") {
    process.stderr.write(`in-netns: cannot run without a network namespace on CI: ${reason}\n`);
    process.exit(1);
  }
  process.stdout.write(`skipped: ${reason}\n`);
  process.exit(0);
}

/** Tries each way of making a namespace with a no-op, so a failing test is never mistaken for a missing namespace. */
function findUnshareFlags() {
  if (process.platform !== "linux")
    return { flags: null, reason: `network namespaces need Linux (this is ${process.platform})` };
  const attempts = [];
  // -r maps us to root inside a new user namespace, which unprivileged users may do; plain -n needs real root.
  for (const flags of ["-rn", "-n"]) {
    const probe = spawnSync("unshare", [flags, "sh", "-c", "ip link set lo up"], { encoding: "utf8" });
    if (probe.error) {
      attempts.push(
        `unshare ${flags}: ${probe.error.code === "ENOENT" ? "unshare not found (util-linux)" : probe.error.message}`,
      );
      if (probe.error.code === "ENOENT") break;
      continue;
    }
    if (probe.status === 0) return { flags, reason: null };
    attempts.push(`unshare ${flags}: ${(probe.stderr || `exit ${probe.status}`).trim().split("\n")[0]}`);
  }
  return { flags: null, reason: attempts.join("; ") };
}

function run(argv) {
  const child = spawn(argv[0], argv.slice(1), { stdio: "inherit", env: { ...process.env, [MARKER]: "1" } });
  const forwarded = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const signal of forwarded) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("error", (error) => {
    process.stderr.write(`in-netns: could not start ${argv[0]}: ${error.message}\n`);
    process.exit(127);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      // Die of the same signal so callers see what happened; our forwarding handlers would swallow it.
      for (const name of forwarded) process.removeAllListeners(name);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

const onlyLoopback = Object.values(networkInterfaces())
  .flat()
  .every((address) => address?.internal === true);

if (onlyLoopback) {
  // Already isolated (a nested run): checked on the interfaces themselves, never trusted from an env variable.
  run(command);
} else {
  const { flags, reason } = findUnshareFlags();
  if (flags === null) skip(`no network namespace available (${reason})`);
  else run(["unshare", flags, "sh", "-c", innerScript, "sh", ...command]);
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Guards WebRTC tests: they run only where nothing but loopback is reachable (scripts/in-netns.mjs).

import { networkInterfaces } from "node:os";

/** Null when every network interface of this process is loopback, else the reason it is not safe. */
export function loopbackOnlyReason(): string | null {
  const external = Object.entries(networkInterfaces())
    .filter(([, addresses]) => addresses?.some((address) => !address.internal))
    .map(([name]) => name);
  if (external.length === 0) return null;
  return `WebRTC tests run only inside a loopback-only network namespace (this process sees ${external.join(", ")}): run them with \`npm test\`, which goes through scripts/in-netns.mjs`;
}

/**
 * For a test to call first: true when it may go on. Otherwise it skips with the reason, or throws
 * on CI, where a missing namespace must fail the run instead of passing it quietly.
 */
export function requireLoopbackOnly(context: { skip(message?: string): void }): boolean {
  const reason = loopbackOnlyReason();
  if (reason === null) return true;
  if (process.env.CI === "true") throw new Error(reason);
  context.skip(reason);
  return false;
}

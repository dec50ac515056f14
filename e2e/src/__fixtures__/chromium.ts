// SPDX-License-Identifier: PolyForm-Shield-1.0
// Debian's Chromium driven by playwright-core: a fresh profile, no network chatter, loopback WebRTC allowed.

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Why browser tests cannot run here, or false when they can. A machine without Chromium skips them
 * with the reason; under CI=true a missing browser is a failure, never a silent skip.
 */
export function chromiumMissing(): string | false {
  if (existsSync(chromiumPath)) return false;
  const reason = `no Chromium at ${chromiumPath} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`;
  if (process.env.CI === "true") throw new Error(reason);
  return reason;
}

export async function launchChromium(
  options: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext & AsyncDisposable> {
  const profile = await mkdtemp(join(tmpdir(), "helexa-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
    ],
  });
  return Object.assign(context, {
    async [Symbol.asyncDispose]() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  });
}

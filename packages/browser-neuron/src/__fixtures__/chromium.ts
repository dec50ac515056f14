// SPDX-License-Identifier: PolyForm-Shield-1.0
// Debian's Chromium driven by playwright-core, launched as e2e's fixture does, optionally with SwiftShader's WebGPU.

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or false when they can; under CI=true a missing browser is a failure. */
export function chromiumMissing(): string | false {
  if (existsSync(chromiumPath)) return false;
  const reason = `no Chromium at ${chromiumPath} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`;
  if (process.env.CI === "true") throw new Error(reason);
  return reason;
}

/** A fresh profile, so Cache Storage starts empty and lasts across page reloads until disposal. */
export async function launchChromium(
  options: { webgpu?: boolean } = {},
): Promise<BrowserContext & AsyncDisposable> {
  const profile = await mkdtemp(join(tmpdir(), "helexa-browser-neuron-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      // SwiftShader's software adapter: WebGPU with no GPU, and without shader-f16.
      ...(options.webgpu ? ["--enable-unsafe-webgpu"] : []),
    ],
  });
  return Object.assign(context, {
    async [Symbol.asyncDispose]() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  });
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal's pages as a request handler for cortex's portal socket, and the production build that makes them.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** apps/portal: where next.config.mjs and the .next build live. */
export const portalDirectory = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function isPortalBuilt(directory = portalDirectory): boolean {
  return existsSync(join(directory, ".next", "BUILD_ID"));
}

export interface BuildProgress {
  /** 0..1, from the stages next build reports. */
  fraction: number;
  stage: string;
}

/** next build's stages in the order it prints them, with how far along each one is. */
const stages: Array<[RegExp, number, string]> = [
  [/Creating an optimized production build/i, 0.05, "compiling"],
  [/Compiled successfully|Compiled with warnings/i, 0.6, "compiled"],
  [/Running TypeScript|Linting and checking validity of types/i, 0.65, "checking types"],
  [/Collecting page data/i, 0.75, "collecting page data"],
  [/Generating static pages \((\d+)\/(\d+)\)/i, 0.8, "generating pages"],
  [/Finalizing page optimization/i, 0.95, "finalizing"],
];

/** Runs `next build` for the portal, reporting progress; rejects with the build's output on failure. */
export async function buildPortal(
  options: { directory?: string; onProgress?: (progress: BuildProgress) => void; signal?: AbortSignal } = {},
): Promise<void> {
  const directory = options.directory ?? portalDirectory;
  const nextBin = createRequire(join(directory, "package.json")).resolve("next/dist/bin/next");
  const child = spawn(process.execPath, [nextBin, "build"], {
    cwd: directory,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  let output = "";
  const onText = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output = (output + text).slice(-20_000);
    for (const line of text.split("\n")) {
      for (const [pattern, fraction, stage] of stages) {
        const match = pattern.exec(line);
        if (!match) continue;
        const done = match[1] && match[2] ? Number(match[1]) / Number(match[2]) : 0;
        options.onProgress?.({ fraction: fraction + done * 0.15, stage });
      }
    }
  };
  child.stdout.on("data", onText);
  child.stderr.on("data", onText);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`the portal's build failed (next build exited ${code}):\n${output.trim()}`);
  options.onProgress?.({ fraction: 1, stage: "built" });
}

export type PortalPages = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** Next.js in production mode inside this process; its handler serves every page and asset. */
export async function loadPortalPages(options: { directory?: string } = {}): Promise<PortalPages> {
  const directory = options.directory ?? portalDirectory;
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  const { default: next } = (await import("next")) as unknown as {
    default: (options: { dev: boolean; dir: string; quiet?: boolean }) => {
      prepare(): Promise<void>;
      getRequestHandler(): (request: IncomingMessage, response: ServerResponse) => Promise<void>;
    };
  };
  const app = next({ dev: false, dir: directory, quiet: true });
  await app.prepare();
  return app.getRequestHandler();
}

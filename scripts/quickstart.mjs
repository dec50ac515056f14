// SPDX-License-Identifier: PolyForm-Shield-1.0
// The README's two commands: `npm start` (install, build, helexa up) and `npm test` (install, build, lint, every test).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// The build tools would report usage to their makers' servers; nothing here phones home.
process.env.TURBO_TELEMETRY_DISABLED = "1";
process.env.NEXT_TELEMETRY_DISABLED = "1";
const [mode, ...rest] = process.argv.slice(2);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", ...options });
  if (result.status !== 0) {
    process.stderr.write(
      `\nquickstart: ${command} ${args.join(" ")} failed (exit ${result.status ?? result.signal})\n`,
    );
    process.exit(result.status ?? 1);
  }
}

function step(title) {
  process.stderr.write(`\n== ${title}\n`);
}

function ensureInstalled() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  step("installing dependencies (npm ci)");
  run("npm", ["ci", "--no-audit", "--no-fund"]);
}

function build() {
  step("building (tsc -b)");
  run("npx", ["tsc", "-b"]);
  // The /donate page's engine: esbuild bundles of the compiled browser neuron, and wllama's WebAssembly (a second).
  step("bundling the browser neuron (esbuild)");
  run("npm", ["run", "build", "--silent", "-w", "@helexa/browser-neuron"]);
  // turbo reuses the last build while the portal's sources and its packages are unchanged.
  step("building the portal (next build)");
  run("npx", ["turbo", "run", "build", "--filter=@helexa/portal", "--output-logs=errors-only"]);
}

if (mode === "up") {
  ensureInstalled();
  build();
  step("starting helexa up");
  const child = spawn(process.execPath, [join(root, "apps/cli/dist/main.js"), "up", ...rest], {
    stdio: "inherit",
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
} else if (mode === "test") {
  ensureInstalled();
  build();
  step("lint (biome check)");
  run("npx", ["biome", "check", "."]);
  step("tests (turbo run test)");
  // One package at a time: the model and WebRTC tests each want both cores of a small machine.
  const child = spawn("npx", ["turbo", "run", "test", "--concurrency=1", "--output-logs=full", ...rest], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const totals = { pass: 0, fail: 0, skipped: 0 };
  let pending = "";
  child.stdout.on("data", (chunk) => {
    process.stdout.write(chunk);
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      const match = /(?:^|\s)(?:#|ℹ) (pass|fail|skipped) (\d+)\s*$/.exec(line);
      if (match) totals[match[1]] += Number(match[2]);
    }
  });
  child.on("exit", (code) => {
    process.stdout.write(`\n${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped\n`);
    process.exit(code === 0 && totals.fail === 0 ? 0 : 1);
  });
} else {
  process.stderr.write("usage: node scripts/quickstart.mjs up|test [args...]\n");
  process.exit(2);
}

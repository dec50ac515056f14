// SPDX-License-Identifier: PolyForm-Shield-1.0
// Bundles the compiled page library and engine worker for browsers (esbuild, ESM) and copies wllama's WebAssembly next to them.

import { copyFile, mkdir, readdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(packageDirectory, "dist");
const output = join(compiled, "browser");

for (const entry of ["index.js", "engine-worker.js"]) {
  try {
    await stat(join(compiled, entry));
  } catch {
    process.stderr.write(
      `build-browser-bundles: dist/${entry} is missing; run \`npx tsc -b\` at the root first\n`,
    );
    process.exit(1);
  }
}

const started = performance.now();
await rm(output, { recursive: true, force: true });
await build({
  absWorkingDir: packageDirectory,
  entryPoints: {
    "browser-neuron": join(compiled, "index.js"),
    "engine-worker": join(compiled, "engine-worker.js"),
  },
  outdir: output,
  bundle: true,
  // Chunks: WebLLM (several megabytes) is fetched only by a tab that runs it.
  splitting: true,
  chunkNames: "chunk-[hash]",
  format: "esm",
  platform: "browser",
  target: ["chrome120", "firefox128", "safari17"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
const wasm = fileURLToPath(import.meta.resolve("@wllama/wllama/esm/wasm/wllama.wasm"));
await mkdir(output, { recursive: true });
await copyFile(wasm, join(output, "wllama.wasm"));

let bytes = 0;
const files = await readdir(output);
for (const file of files) bytes += (await stat(join(output, file))).size;
process.stdout.write(
  `browser bundles: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB in dist/browser ` +
    `(${Math.round(performance.now() - started)} ms)\n`,
);

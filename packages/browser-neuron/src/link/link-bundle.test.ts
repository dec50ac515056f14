// SPDX-License-Identifier: PolyForm-Shield-1.0
// The tab's link bundles for a browser: @helexa/mesh's framing without node-datachannel, and no Node built-in anywhere.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

test("the link and its job runner bundle for the browser with no Node module in them", async () => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./index.js", import.meta.url))],
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(
    inputs.some((input) => input.endsWith("mesh/dist/message-framing.js")),
    "the framing comes from @helexa/mesh",
  );
  assert.ok(
    inputs.some((input) => input.endsWith("runtime/dist/job-runner.js")),
    "the shared job runner",
  );
  const native = inputs.filter((input) => /node-datachannel|mesh\/dist\/peer\.js|^node:/.test(input));
  assert.deepEqual(native, []);
  const code = result.outputFiles[0]!.text;
  assert.ok(!/\bfrom\s*["']node:|require\(["']node:/.test(code), "no import of a Node built-in");
});

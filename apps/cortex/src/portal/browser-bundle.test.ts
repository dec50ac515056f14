// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of the /browser-neuron/ route over real HTTP: types, revalidation, isolation headers, and nothing outside its folder.

import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { serveBrowserBundle } from "./browser-bundle.js";

let directory = "";
let server: Server;
let base = "";

before(async () => {
  directory = await mkdtemp(join(tmpdir(), "helexa-bundle-"));
  await writeFile(join(directory, "engine-worker.js"), "self.onmessage = () => {};\n");
  await writeFile(join(directory, "wllama.wasm"), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  await writeFile(join(directory, "notes.txt"), "not served");
  server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x.invalid").pathname;
    void serveBrowserBundle(request, response, path, directory);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/browser-neuron/`;
});

after(async () => {
  server.close();
  await rm(directory, { recursive: true, force: true });
});

test("scripts and WebAssembly go out with their types, an ETag, and the isolation headers a worker needs", async () => {
  const script = await fetch(`${base}engine-worker.js`);
  assert.equal(script.status, 200);
  assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(script.headers.get("cross-origin-embedder-policy"), "require-corp");
  assert.equal(script.headers.get("cross-origin-resource-policy"), "same-origin");
  assert.match(await script.text(), /onmessage/);
  const wasm = await fetch(`${base}wllama.wasm`);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assert.equal((await wasm.arrayBuffer()).byteLength, 8);

  const etag = script.headers.get("etag");
  assert.ok(etag);
  const again = await fetch(`${base}engine-worker.js`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304, "a second visit revalidates");
  const head = await fetch(`${base}wllama.wasm`, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), "8");
});

test("unknown files, other types, paths out of the folder and other methods are refused", async () => {
  assert.equal((await fetch(`${base}missing.js`)).status, 404);
  assert.equal((await fetch(`${base}notes.txt`)).status, 404);
  assert.equal((await fetch(`${base}..%2Fbrowser-bundle.test.js`)).status, 404);
  assert.equal((await fetch(`${base}%2e%2e%2fpackage.json`)).status, 404);
  assert.equal((await fetch(`${base}engine-worker.js`, { method: "POST" })).status, 405);
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The model-file route over real HTTP: fetched once with its checksum, then Range, HEAD, ETag/304, 416 and JSON errors.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createModelCatalog, type ModelCatalog } from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import { createLogger } from "@helexa/log";
import { createModelFilesHandler, parseRange } from "./model-files.js";

const content = randomBytes(64 * 1024 + 7);
const sha256 = createHash("sha256").update(content).digest("hex");

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("GET /models/<id>/file", () => {
  let database: TestDatabase;
  let catalog: ModelCatalog;
  let modelsDir: string;
  let source: Server;
  let sourceUrl: string;
  let portal: Server;
  let portalUrl: string;
  /** Requests the model's source got, by path. */
  const fetched: string[] = [];

  before(async () => {
    database = await createPgliteTestDatabase();
    catalog = createModelCatalog({ db: database.db });
    modelsDir = await mkdtemp(join(tmpdir(), "helexa-model-files-"));
    // The models' source: every path serves the same bytes.
    source = createServer((request, response) => {
      fetched.push(request.url ?? "");
      response.writeHead(200, { "content-length": content.length }).end(content);
    });
    sourceUrl = await listen(source);
    const model = (id: string, path: string, extra: { sha256?: string | null } = {}) =>
      catalog.upsertModel({
        id,
        sourceUrl: `${sourceUrl}${path}`,
        sha256: extra.sha256 === undefined ? sha256 : extra.sha256,
        sizeBytes: content.length,
        contextLength: 2048,
        pricePromptPerMillion: 1,
        priceCompletionPerMillion: 1,
      });
    await model("org/tiny", "/files/tiny.gguf");
    // Another model whose file has the same name, and whose source serves bytes that fail its checksum.
    await model("corrupt", "/corrupt/tiny.gguf", { sha256: "ab".repeat(32) });
    await model("unchecked", "/files/unchecked.gguf", { sha256: null });
    const handler = createModelFilesHandler({
      catalog,
      modelsDir,
      log: createLogger({ level: "silent" }),
    });
    portal = createServer((request, response) => void handler(request, response));
    portalUrl = await listen(portal);
  });

  after(async () => {
    portal?.closeAllConnections();
    portal?.close();
    source?.close();
    await database?.close();
    if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
  });

  const file = (id = "org/tiny") => `${portalUrl}/models/${id}/file`;

  it("fetches the file from its source once, checks it, and serves it whole with immutable caching", async () => {
    const [first, second] = await Promise.all([fetch(file()), fetch(file())]);
    for (const response of [first, second]) {
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("etag"), `"${sha256}"`);
      assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(response.headers.get("accept-ranges"), "bytes");
      assert.equal(response.headers.get("content-length"), String(content.length));
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), content);
    }
    assert.deepEqual(fetched, ["/files/tiny.gguf"], "two readers at once, one download");
    assert.deepEqual(await readFile(join(modelsDir, "tiny.gguf")), content);
    // The id may be percent-encoded as one path segment, as a client that escapes the slash sends it.
    const encoded = await fetch(`${portalUrl}/models/org%2Ftiny/file`);
    assert.equal(encoded.status, 200);
    await encoded.arrayBuffer();
    assert.equal(fetched.length, 1);
  });

  it("serves byte ranges with 206 and Content-Range, and HEAD with the headers alone", async () => {
    const range = async (header: string) => {
      const response = await fetch(file(), { headers: { range: header } });
      return {
        status: response.status,
        contentRange: response.headers.get("content-range"),
        length: response.headers.get("content-length"),
        body: Buffer.from(await response.arrayBuffer()),
      };
    };
    const size = content.length;
    assert.deepEqual(await range("bytes=10-19"), {
      status: 206,
      contentRange: `bytes 10-19/${size}`,
      length: "10",
      body: content.subarray(10, 20),
    });
    assert.deepEqual((await range(`bytes=${size - 5}-`)).body, content.subarray(size - 5));
    assert.deepEqual((await range("bytes=-3")).contentRange, `bytes ${size - 3}-${size - 1}/${size}`);
    // A last byte past the end is clamped to it.
    assert.deepEqual((await range(`bytes=${size - 2}-${size + 100}`)).body, content.subarray(size - 2));
    // Several ranges are not combined: the whole file, as a server may answer.
    assert.equal((await range("bytes=0-1,5-6")).status, 200);
    // A stale If-Range gets the whole file, not a slice of another version.
    const stale = await fetch(file(), { headers: { range: "bytes=0-9", "if-range": '"0000"' } });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();

    const head = await fetch(file(), { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(size));
    assert.equal(head.headers.get("etag"), `"${sha256}"`);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const headRange = await fetch(file(), { method: "HEAD", headers: { range: "bytes=100-" } });
    assert.equal(headRange.status, 206);
    assert.equal(headRange.headers.get("content-length"), String(size - 100));
  });

  it("answers 416 with the size for ranges outside the file or malformed", async () => {
    for (const header of [`bytes=${content.length}-`, "bytes=9-2", "bytes=-0", "bytes=x-1", "bytes=-"]) {
      const response = await fetch(file(), { headers: { range: header } });
      assert.equal(response.status, 416, header);
      assert.equal(response.headers.get("content-range"), `bytes */${content.length}`);
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, "invalid_request");
    }
  });

  it("answers 304 to a reader that has this version, by ETag", async () => {
    const response = await fetch(file(), { headers: { "if-none-match": `"other", "${sha256}"` } });
    assert.equal(response.status, 304);
    assert.equal(response.headers.get("etag"), `"${sha256}"`);
    const changed = await fetch(file(), { headers: { "if-none-match": '"older"' } });
    assert.equal(changed.status, 200);
    await changed.arrayBuffer();
  });

  it("answers unknown models, files without a checksum and other methods in the JSON error format", async () => {
    const expect = async (response: Response, status: number, code: string) => {
      assert.equal(response.status, status);
      assert.match(response.headers.get("content-type") ?? "", /application\/json/);
      const body = (await response.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code);
      assert.ok(body.error.message.length > 0);
    };
    await expect(await fetch(file("no-such-model")), 404, "model_not_found");
    await expect(await fetch(file("unchecked")), 404, "not_found");
    await expect(await fetch(`${portalUrl}/models/org/tiny`), 404, "not_found");
    await expect(await fetch(`${portalUrl}/models/%E0%A4%A/file`), 404, "not_found");
    await expect(await fetch(file(), { method: "POST" }), 405, "invalid_request");
    assert.ok(!fetched.includes("/files/unchecked.gguf"), "nothing unchecked is fetched");
  });

  it("refuses a source whose bytes fail the checksum, keeping nothing of them", async () => {
    const before = await readdir(modelsDir);
    const response = await fetch(file("corrupt"));
    assert.equal(response.status, 502);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "checksum_mismatch");
    assert.ok(fetched.includes("/corrupt/tiny.gguf"), "it was fetched, and failed the check");
    // tiny.gguf (the good model's) is the same name: the corrupt download went elsewhere and was removed.
    assert.deepEqual(await readdir(modelsDir), before);
    assert.deepEqual(await readFile(join(modelsDir, "tiny.gguf")), content);
  });

  it("serves a file already in the models dir, as `helexa up`'s neuron leaves it, without fetching", async () => {
    const other = randomBytes(1000);
    await writeFile(join(modelsDir, "local.gguf"), other);
    await catalog.upsertModel({
      id: "local",
      sourceUrl: "http://unreachable.invalid/models/local.gguf",
      sha256: createHash("sha256").update(other).digest("hex"),
      sizeBytes: other.length,
      contextLength: 2048,
      pricePromptPerMillion: 1,
      priceCompletionPerMillion: 1,
    });
    const response = await fetch(file("local"), { headers: { range: "bytes=0-99" } });
    assert.equal(response.status, 206);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), other.subarray(0, 100));
  });
});

describe("parseRange", () => {
  it("reads one bytes range, ignores other units and multiple ranges, and flags the rest", () => {
    assert.deepEqual(parseRange("bytes=0-0", 10), { start: 0, end: 0 });
    assert.deepEqual(parseRange("bytes=-20", 10), { start: 0, end: 9 });
    assert.equal(parseRange(undefined, 10), null);
    assert.equal(parseRange("items=0-5", 10), null);
    assert.equal(parseRange("bytes=0-1, 3-4", 10), null);
    assert.equal(parseRange("bytes=0-0", 0), "unsatisfiable");
    assert.equal(parseRange("bytes=99999999999999999999-", 10), "unsatisfiable");
  });
});

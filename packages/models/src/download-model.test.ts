// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of downloadModel against a local server: progress, resume, restarts, checksums, failures and aborts.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HelexaError } from "@helexa/protocol";
import { findClosedPort, startFileServer } from "./__fixtures__/file-server.js";
import { downloadModel } from "./download-model.js";
import type { DownloadProgress } from "./progress-meter.js";

const content = randomBytes(3 * 1024 * 1024 + 123);
const sha256 = createHash("sha256").update(content).digest("hex");
const scratch = mkdtempSync(join(tmpdir(), "helexa-models-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let destinationCount = 0;
/** A model path in a directory of its own, which exists so that a test can plant a .part there. */
function freshDestination(): string {
  const directory = join(scratch, `case-${destinationCount++}`);
  mkdirSync(directory);
  return join(directory, "model.gguf");
}

async function waitForFileSize(path: string, size: number): Promise<void> {
  const deadline = performance.now() + 5000;
  while (performance.now() < deadline) {
    if (existsSync(path) && statSync(path).size >= size) return;
    await sleep(5);
  }
  throw new Error(`${path} did not reach ${size} bytes`);
}

function assertHelexaError(error: unknown, code: string): HelexaError {
  assert.ok(HelexaError.is(error), `expected a HelexaError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  assert.ok(!error.message.includes("\n"), "the message is one line");
  return error;
}

describe("downloadModel", () => {
  it("downloads through a redirect with monotonic progress that ends at 100%", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    const progress: DownloadProgress[] = [];
    const result = await downloadModel({
      url: server.redirectUrl,
      destination,
      sha256,
      expectedSize: content.length,
      onProgress: (event) => progress.push(event),
    });
    assert.deepEqual(result, { path: destination, sizeBytes: content.length, sha256, downloaded: true });
    assert.ok(readFileSync(destination).equals(content));
    assert.ok(!existsSync(`${destination}.part`));
    assert.deepEqual(
      server.requests.map((request) => [request.path, request.range]),
      [
        ["/redirect", null],
        ["/model.gguf", null],
      ],
    );
    assert.ok(progress.length >= 10, `only ${progress.length} progress events`);
    for (let index = 1; index < progress.length; index++) {
      assert.ok(progress[index]!.downloadedBytes >= progress[index - 1]!.downloadedBytes);
      assert.ok(progress[index]!.fraction! >= progress[index - 1]!.fraction!);
    }
    const last = progress.at(-1)!;
    assert.equal(last.fraction, 1);
    assert.equal(last.downloadedBytes, content.length);
    assert.equal(last.totalBytes, content.length);
    assert.ok(progress.every((event) => event.bytesPerSecond >= 0));
  });

  it("resumes with a Range request after the connection is cut", async () => {
    const cut = 1_000_000;
    const destination = freshDestination();
    await using server = await startFileServer({
      content,
      cutAfterBytes: cut,
      beforeCut: () => waitForFileSize(`${destination}.part`, cut),
    });
    const result = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.equal(result.sha256, sha256);
    assert.deepEqual(
      server.requests.map((request) => request.range),
      [null, `bytes=${cut}-`],
    );
    assert.equal(createHash("sha256").update(readFileSync(destination)).digest("hex"), sha256);
  });

  it("resumes a .part left by an earlier run, hashing its prefix first", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    const prefix = 777_777;
    writeFileSync(`${destination}.part`, content.subarray(0, prefix));
    const result = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.equal(result.sha256, sha256);
    assert.deepEqual(
      server.requests.map((request) => request.range),
      [`bytes=${prefix}-`],
    );
  });

  it("starts over when the server ignores Range and answers 200", async () => {
    await using server = await startFileServer({ content, ignoreRange: true });
    const destination = freshDestination();
    writeFileSync(`${destination}.part`, randomBytes(500_000));
    const result = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.equal(result.sha256, sha256);
    assert.ok(readFileSync(destination).equals(content));
    assert.deepEqual(
      server.requests.map((request) => request.range),
      ["bytes=500000-"],
    );
  });

  it("takes a 416 for a .part that is already whole and just verifies it", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    writeFileSync(`${destination}.part`, content);
    const result = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.equal(result.downloaded, true);
    assert.deepEqual(
      server.requests.map((request) => request.range),
      [`bytes=${content.length}-`],
    );
    assert.ok(readFileSync(destination).equals(content));
  });

  it("drops a stale .part whose bytes fail the checksum and downloads once more from zero", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    writeFileSync(`${destination}.part`, randomBytes(100_000));
    const result = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.equal(result.sha256, sha256);
    assert.deepEqual(
      server.requests.map((request) => request.range),
      ["bytes=100000-", null],
    );
  });

  it("fails with checksum_mismatch naming both hashes and leaves no file behind", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    const wrong = "0".repeat(64);
    const error = await downloadModel({ url: server.fileUrl, destination, sha256: wrong }).then(
      () => assert.fail("the download should fail"),
      (thrown: unknown) => thrown,
    );
    const helexaError = assertHelexaError(error, "checksum_mismatch");
    assert.match(helexaError.message, new RegExp(`expected sha256 ${wrong}, got ${sha256}`));
    assert.ok(!existsSync(destination));
    assert.ok(!existsSync(`${destination}.part`));
  });

  it("fails with checksum_mismatch before fetching a file whose size differs from the expected one", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    writeFileSync(`${destination}.part`, content.subarray(0, 1000));
    await assert.rejects(
      downloadModel({ url: server.fileUrl, destination, expectedSize: content.length + 1 }),
      (error: unknown) => Boolean(assertHelexaError(error, "checksum_mismatch")),
    );
    assert.ok(!existsSync(destination));
    assert.ok(!existsSync(`${destination}.part`));
  });

  it("fails fast with one line when nothing listens on the port", async () => {
    const port = await findClosedPort();
    const started = performance.now();
    const error = await downloadModel({
      url: `http://127.0.0.1:${port}/model.gguf`,
      destination: freshDestination(),
    }).then(
      () => assert.fail("the download should fail"),
      (thrown: unknown) => thrown,
    );
    const elapsed = performance.now() - started;
    const helexaError = assertHelexaError(error, "download_failed");
    assert.match(
      helexaError.message,
      new RegExp(
        `^could not reach 127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\) \\(4 attempts\\)$`,
      ),
    );
    assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
  });

  it("gives up on a server that never answers after timeoutMs per attempt", async () => {
    await using server = await startFileServer({ content, hang: true });
    const started = performance.now();
    await assert.rejects(
      downloadModel({ url: server.fileUrl, destination: freshDestination(), timeoutMs: 200, retries: 1 }),
      (error: unknown) =>
        assertHelexaError(error, "download_failed").message.includes("no answer for 0.2 s (2 attempts)"),
    );
    assert.equal(server.requests.length, 2);
    assert.ok(performance.now() - started < 1500);
  });

  it("does not retry a 404 and retries a 503", async () => {
    await using missing = await startFileServer({ content, status: 404 });
    await assert.rejects(
      downloadModel({ url: missing.fileUrl, destination: freshDestination() }),
      (error: unknown) =>
        assertHelexaError(error, "download_failed").message.includes("answered 404 Not Found"),
    );
    assert.equal(missing.requests.length, 1);

    await using busy = await startFileServer({ content, status: 503 });
    await assert.rejects(
      downloadModel({ url: busy.fileUrl, destination: freshDestination(), retries: 2 }),
      (error: unknown) =>
        assertHelexaError(error, "download_failed").message.includes(
          "answered 503 Service Unavailable (3 attempts)",
        ),
    );
    assert.equal(busy.requests.length, 3);
  });

  it("stops promptly on abort mid-transfer and keeps the .part for a later resume", async () => {
    await using server = await startFileServer({ content, dripChunkBytes: 64 * 1024, dripIntervalMs: 20 });
    const destination = freshDestination();
    const controller = new AbortController();
    let abortedAt = 0;
    const download = downloadModel({
      url: server.fileUrl,
      destination,
      signal: controller.signal,
      onProgress: (event) => {
        if (event.downloadedBytes > 0 && abortedAt === 0) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    await assert.rejects(download, { name: "AbortError" });
    assert.ok(performance.now() - abortedAt < 500);
    assert.ok(existsSync(`${destination}.part`));
    assert.ok(!existsSync(destination));
  });

  it("stops promptly on abort while waiting to retry an unreachable host", async () => {
    const port = await findClosedPort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    await assert.rejects(
      downloadModel({
        url: `http://127.0.0.1:${port}/model.gguf`,
        destination: freshDestination(),
        retries: 100,
        signal: controller.signal,
      }),
      { name: "AbortError" },
    );
    assert.ok(performance.now() - started < 700);
  });

  it("makes no request when the destination already holds the right file", async () => {
    await using server = await startFileServer({ content });
    const destination = freshDestination();
    await downloadModel({ url: server.fileUrl, destination });
    server.requests.length = 0;
    const bySha = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.deepEqual(bySha, { path: destination, sizeBytes: content.length, sha256, downloaded: false });
    const bySize = await downloadModel({ url: server.fileUrl, destination, expectedSize: content.length });
    assert.equal(bySize.downloaded, false);
    assert.equal(server.requests.length, 0);

    writeFileSync(destination, randomBytes(content.length));
    const replaced = await downloadModel({ url: server.fileUrl, destination, sha256 });
    assert.equal(replaced.downloaded, true);
    assert.equal(server.requests.length, 1);
    assert.ok(readFileSync(destination).equals(content));
  });

  it("rejects an already aborted signal, a bad URL and a malformed sha256 without a request", async () => {
    await using server = await startFileServer({ content });
    await assert.rejects(
      downloadModel({ url: server.fileUrl, destination: freshDestination(), signal: AbortSignal.abort() }),
      { name: "AbortError" },
    );
    await assert.rejects(
      downloadModel({ url: "ftp://example.com/x", destination: freshDestination() }),
      (error) => Boolean(assertHelexaError(error, "invalid_request")),
    );
    await assert.rejects(
      downloadModel({ url: server.fileUrl, destination: freshDestination(), sha256: "abc" }),
      (error) => Boolean(assertHelexaError(error, "invalid_request")),
    );
    assert.equal(server.requests.length, 0);
  });
});

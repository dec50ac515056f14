// SPDX-License-Identifier: PolyForm-Shield-1.0
// A download that runs out of room, for real: a tiny tmpfs (ENOSPC) and a file size limit (EFBIG); nothing half-written stays.

import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startFileServer } from "./__fixtures__/file-server.js";

const run = promisify(execFile);
const child = fileURLToPath(new URL("./__fixtures__/download-in-child.js", import.meta.url));
const content = randomBytes(1024 * 1024 + 17);
const scratch = mkdtempSync(join(tmpdir(), "helexa-full-disk-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface ChildOutcome {
  error: { code: string; message: string; diskFull: boolean } | null;
  files: string[];
}

/**
 * A 256 KiB tmpfs needs a mount namespace, which an unprivileged user gets inside a user namespace
 * (`unshare -rm`, as the network tests use `unshare -rn`); null says why there is none here.
 */
function tmpfsUnavailable(): string | null {
  if (process.platform !== "linux") return `tmpfs mounts need Linux (this is ${process.platform})`;
  const probe = spawnSync("unshare", ["-rm", "sh", "-c", `mount -t tmpfs -o size=64k tmpfs "${scratch}"`]);
  if (probe.error) return `unshare: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -rm: ${probe.stderr.toString().trim() || `exit ${probe.status}`}`;
  return null;
}

function skipOrFail(t: { skip: (message: string) => void }, reason: string): void {
  if (process.env.CI === "true") assert.fail(reason);
  t.skip(reason);
}

async function onTinyTmpfs(options: Record<string, unknown>, directory: string): Promise<ChildOutcome> {
  const script = 'mount -t tmpfs -o size=256k tmpfs "$1" && shift && exec "$@"';
  const { stdout } = await run("unshare", [
    "-rm",
    "sh",
    "-c",
    script,
    "sh",
    directory,
    process.execPath,
    child,
    JSON.stringify(options),
  ]);
  return JSON.parse(stdout) as ChildOutcome;
}

describe("a download that runs out of room", () => {
  const unavailable = tmpfsUnavailable();

  it("on a full disk (a 256 KiB tmpfs) it fails with ENOSPC, says so, and leaves no .part", async (t) => {
    if (unavailable) return skipOrFail(t, unavailable);
    await using server = await startFileServer({ content });
    const directory = mkdtempSync(join(scratch, "tmpfs-"));
    // No expected size: the disk fills up in the middle of the transfer.
    const outcome = await onTinyTmpfs(
      { url: server.fileUrl, destination: join(directory, "model.gguf") },
      directory,
    );
    assert.equal(outcome.error?.code, "download_failed");
    assert.equal(outcome.error?.diskFull, true);
    assert.match(
      outcome.error?.message ?? "",
      /no room to write model\.gguf\.part .*: the disk is full \(ENOSPC\)/,
    );
    assert.deepEqual(outcome.files, []);
  });

  it("with the size known, it refuses before fetching a byte when the disk cannot hold the file", async (t) => {
    if (unavailable) return skipOrFail(t, unavailable);
    await using server = await startFileServer({ content });
    const directory = mkdtempSync(join(scratch, "tmpfs-"));
    const outcome = await onTinyTmpfs(
      { url: server.fileUrl, destination: join(directory, "model.gguf"), expectedSize: content.length },
      directory,
    );
    assert.equal(outcome.error?.diskFull, true);
    assert.match(
      outcome.error?.message ?? "",
      /no room for model\.gguf .*it needs 1\.0 MB more, the disk has \d+ kB free/,
    );
    assert.deepEqual(outcome.files, []);
    assert.equal(server.requests.length, 0, "nothing was fetched");
  });

  it("under a file size limit (RLIMIT_FSIZE via ulimit -f) it fails with EFBIG and leaves no .part", async () => {
    await using server = await startFileServer({ content });
    const directory = mkdtempSync(join(scratch, "limited-"));
    const options = {
      url: server.fileUrl,
      destination: join(directory, "model.gguf"),
      expectedSize: content.length,
    };
    // 512 blocks: 256 KiB in dash's 512-byte blocks, 512 KiB in bash's; either is well short of the file.
    const { stdout } = await run("sh", [
      "-c",
      'ulimit -f 512 && exec "$@"',
      "sh",
      process.execPath,
      child,
      JSON.stringify(options),
    ]);
    const outcome = JSON.parse(stdout) as ChildOutcome;
    assert.equal(outcome.error?.code, "download_failed");
    assert.equal(outcome.error?.diskFull, true);
    assert.match(outcome.error?.message ?? "", /the file size limit was reached \(EFBIG\)/);
    assert.deepEqual(outcome.files, []);
  });
});

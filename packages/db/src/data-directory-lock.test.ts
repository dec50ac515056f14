// SPDX-License-Identifier: PolyForm-Shield-1.0
// A PGlite directory another live process holds is refused with a clear error; a stale lock is taken over.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HelexaError } from "@helexa/protocol";
import { lockDataDirectory } from "./data-directory-lock.js";

test("a live holder is refused, a dead one is taken over, and release frees the directory", async () => {
  const dataDir = join(await mkdtemp(join(tmpdir(), "helexa-lock-")), "db");
  const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
  try {
    await writeFile(`${dataDir}.lock`, `${other.pid}\n`);
    await assert.rejects(
      lockDataDirectory(dataDir),
      (error: unknown) =>
        HelexaError.is(error) &&
        error.message.includes(`in use by another helexa process (pid ${other.pid})`),
    );
  } finally {
    other.kill("SIGKILL");
  }
  await new Promise((resolve) => other.once("exit", resolve));
  const lock = await lockDataDirectory(dataDir);
  assert.equal((await readFile(`${dataDir}.lock`, "utf8")).trim(), String(process.pid));
  await lock.release();
  await (await lockDataDirectory(dataDir)).release();
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// One process at a time in a PGlite data directory: two would write the same files and corrupt them.

import { open, readFile, rm } from "node:fs/promises";
import { HelexaError } from "@helexa/protocol";

export interface DataDirectoryLock {
  release(): Promise<void>;
}

/**
 * Takes `<dataDir>.lock`, holding this process's pid. A lock left by a process that no longer runs
 * (a crash, a kill -9) is taken over; one held by a live process is a clear error.
 */
export async function lockDataDirectory(dataDir: string): Promise<DataDirectoryLock> {
  const lockPath = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(lockPath, "wx");
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(lockPath, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(await readFile(lockPath, "utf8").catch(() => ""), 10);
    if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder)) {
      throw new HelexaError(
        "invalid_request",
        `the database in ${dataDir} is in use by another helexa process (pid ${holder}); stop it first, or give this one another --home`,
      );
    }
    await rm(lockPath, { force: true });
  }
  throw new HelexaError("internal", `could not lock the database in ${dataDir}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

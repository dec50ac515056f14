// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs one download in a child process (under a file size limit or on a tiny tmpfs) and prints the outcome as JSON.

import { readdir } from "node:fs/promises";
import { dirname } from "node:path";
import { HelexaError } from "@helexa/protocol";
import { downloadModel, isDiskFull } from "../download-model.js";

const options = JSON.parse(process.argv[2] ?? "{}") as {
  url: string;
  destination: string;
  expectedSize?: number;
  sha256?: string;
};

let error: { code: string; message: string; diskFull: boolean } | null = null;
try {
  await downloadModel({ ...options, retries: 0 });
} catch (caught) {
  error = HelexaError.is(caught)
    ? { code: caught.code, message: caught.message, diskFull: isDiskFull(caught) }
    : { code: "unexpected", message: String(caught), diskFull: false };
}
// The mount goes with this process: what the folder holds is reported from in here.
const files = await readdir(dirname(options.destination));
process.stdout.write(`${JSON.stringify({ error, files })}\n`);

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Every source file in the repository names its license in its first lines.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const HEADER = "// SPDX-License-Identifier: PolyForm-Shield-1.0";

test("every source file starts with the SPDX license header", () => {
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  })
    .split("\n")
    .filter((file) => /\.(ts|tsx|mts|cts|js|mjs|cjs)$/.test(file))
    .filter((file) => !/(^|\/)(node_modules|dist|\.next)\//.test(file) && !file.endsWith(".d.ts"));
  assert.ok(files.length > 50, `found ${files.length} source files`);
  const missing = files.filter((file) => {
    let head: string;
    try {
      head = readFileSync(join(root, file), "utf8").split("\n").slice(0, 3).join("\n");
    } catch {
      return false; // listed by git but deleted in the working tree
    }
    return !head.includes(HEADER);
  });
  assert.deepEqual(missing, [], `files without "${HEADER}" in their first lines`);
});

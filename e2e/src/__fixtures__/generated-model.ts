// SPDX-License-Identifier: PolyForm-Shield-1.0
// The generated model every end-to-end test serves, made once per test file in a temporary folder.

import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateTinyModel } from "@helexa/gguf";

export const TEST_MODEL_ID = "helexa-tiny-e2e";

export async function makeTestWorkspace(
  options: { preset?: "test" | "bench" } = {},
): Promise<{ home: string; modelPath: string }> {
  const home = await mkdtemp(join(tmpdir(), "helexa-e2e-"));
  const modelPath = join(home, `${TEST_MODEL_ID}.gguf`);
  await generateTinyModel({ path: modelPath, preset: options.preset ?? "test", seed: 7 });
  return { home, modelPath };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs one model load through a ModelManager in a child process (on a tiny tmpfs or under a file size limit) and prints the outcome as JSON.

import { readdir } from "node:fs/promises";
import { HelexaError, type ModelLoad } from "@helexa/protocol";
import { createLlamaCppRuntime } from "@helexa/runtime/llama-cpp";
import { ModelManager } from "../model-manager.js";

const { modelsDir, load } = JSON.parse(process.argv[2] ?? "{}") as {
  modelsDir: string;
  load: Omit<ModelLoad, "type">;
};

const runtime = await createLlamaCppRuntime({ models: [], threads: 1, gpu: false, onLog: () => {} });
const manager = new ModelManager({
  runtime,
  modelsDir,
  memoryBudgetBytes: 1e9,
  neuronName: "child-neuron",
  download: { retries: 0 },
});
let error: { code: string; message: string } | null = null;
try {
  await manager.load(load);
} catch (caught) {
  error = HelexaError.is(caught)
    ? { code: caught.code, message: caught.message }
    : { code: "unexpected", message: String(caught) };
}
// A tmpfs goes with this process's mount namespace: what the folder holds is reported from in here.
const files = await readdir(modelsDir);
const models = runtime.models().map((model) => model.id);
await runtime[Symbol.asyncDispose]();
process.stdout.write(`${JSON.stringify({ error, files, models })}\n`);

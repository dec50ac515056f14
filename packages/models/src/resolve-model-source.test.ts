// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests of resolveModelSource: local paths, bare names in the models directory, and URLs fetched into it.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { HelexaError } from "@helexa/protocol";
import { startFileServer } from "./__fixtures__/file-server.js";
import { resolveModelSource } from "./resolve-model-source.js";

const scratch = mkdtempSync(join(tmpdir(), "helexa-resolve-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function isCode(code: string) {
  return (error: unknown) => HelexaError.is(error) && error.code === code;
}

describe("resolveModelSource", () => {
  const modelsDir = join(scratch, "models");
  mkdirSync(modelsDir);
  const inModels = join(modelsDir, "tiny.gguf");
  writeFileSync(inModels, "gguf");

  it("returns an existing file by absolute path or file: URL", async () => {
    assert.equal(await resolveModelSource(inModels, join(scratch, "elsewhere")), inModels);
    assert.equal(
      await resolveModelSource(pathToFileURL(inModels).href, join(scratch, "elsewhere")),
      inModels,
    );
  });

  it("looks a bare file name up in the models directory", async () => {
    assert.equal(await resolveModelSource("tiny.gguf", modelsDir), inModels);
  });

  it("says which paths it tried when the file is missing, and refuses a directory", async () => {
    await assert.rejects(resolveModelSource("absent.gguf", modelsDir), (error: unknown) => {
      assert.ok(isCode("model_not_found")(error));
      assert.ok((error as Error).message.includes(join(modelsDir, "absent.gguf")));
      return true;
    });
    await assert.rejects(resolveModelSource(modelsDir, modelsDir), isCode("model_invalid"));
  });

  it("downloads a URL into the models directory under the URL's file name, once", async () => {
    const content = randomBytes(200_000);
    await using server = await startFileServer({ content });
    const downloadsDir = join(scratch, "downloads");
    const path = await resolveModelSource(server.fileUrl, downloadsDir);
    assert.equal(path, join(downloadsDir, "model.gguf"));
    assert.ok(readFileSync(path).equals(content));
    assert.equal(await resolveModelSource(server.fileUrl, downloadsDir), path);
    assert.equal(server.requests.length, 1);
  });

  it("refuses a URL that names no file", async () => {
    await assert.rejects(resolveModelSource("http://127.0.0.1:1/", modelsDir), isCode("invalid_request"));
    await assert.rejects(
      resolveModelSource("http://127.0.0.1:1/a/..%2F..%2Fescape", modelsDir),
      isCode("invalid_request"),
    );
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The model catalog: upsert, read, list, delete; and money columns that refuse to lose precision.

import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { createModelCatalog } from "./model-catalog.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

describeOnEachBackend("ModelCatalog", (backend) => {
  backend.test("upserts, reads, lists and deletes models", async ({ db }) => {
    const catalog = createModelCatalog({ db });
    const created = await catalog.upsertModel({
      id: "qwen2.5-0.5b-instruct",
      sourceUrl: "https://example.com/qwen.gguf",
      sha256: "ab".repeat(32),
      sizeBytes: 4_920_000_000,
      contextLength: 32_768,
      pricePromptPerMillion: 100_000,
      priceCompletionPerMillion: 400_000,
    });
    assert.equal(created.sizeBytes, 4_920_000_000);
    const updated = await catalog.upsertModel({
      id: "qwen2.5-0.5b-instruct",
      contextLength: 8_192,
      pricePromptPerMillion: 150_000,
      priceCompletionPerMillion: 500_000,
    });
    assert.equal(updated.contextLength, 8_192);
    assert.equal(updated.pricePromptPerMillion, 150_000);
    assert.equal(updated.sourceUrl, "https://example.com/qwen.gguf", "fields not given are kept");
    assert.ok(updated.updatedAt.getTime() >= created.updatedAt.getTime());

    await catalog.upsertModel({
      id: "a-tiny",
      contextLength: 512,
      pricePromptPerMillion: 0,
      priceCompletionPerMillion: 0,
    });
    assert.deepEqual(
      (await catalog.listModels()).map((model) => model.id),
      ["a-tiny", "qwen2.5-0.5b-instruct"],
    );
    assert.equal((await catalog.getModel("a-tiny"))?.contextLength, 512);
    assert.equal(await catalog.getModel("missing"), null);
    assert.equal(await catalog.deleteModel("a-tiny"), true);
    assert.equal(await catalog.deleteModel("a-tiny"), false);
  });

  backend.test("an amount beyond 2^53 is an error, never a rounded number", async ({ db }) => {
    const catalog = createModelCatalog({ db });
    await assert.rejects(
      catalog.upsertModel({
        id: "too-big",
        contextLength: 1,
        pricePromptPerMillion: 2 ** 53,
        priceCompletionPerMillion: 0,
      }),
      RangeError,
    );
    await db.execute(sql`insert into models (id, context_length, price_prompt_per_million, price_completion_per_million)
      values ('written-elsewhere', 1, 9007199254740993, 0)`);
    await assert.rejects(catalog.getModel("written-elsewhere"), RangeError);
  });
});

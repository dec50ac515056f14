// SPDX-License-Identifier: PolyForm-Shield-1.0
// cortex's store learns the models neurons serve: new ones at the default prices, the default model with its file for browser tabs.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createModelCatalog } from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import { createLogger } from "@helexa/log";
import { defaultModel } from "@helexa/models";
import { createDatabaseCortexStore } from "./database-store.js";
import type { NeuronSession } from "./orchestrator/neuron-session.js";

const prices = { promptPerMillion: 50_000, completionPerMillion: 100_000 };

/** What the store reads of a session that said what it serves. */
function serving(...modelIds: string[]): NeuronSession {
  const models = modelIds.map((id) => ({ id, contextLength: 4096 }));
  return {
    neuronId: "no-such-neuron",
    models,
    capabilities: {
      type: "capabilities",
      models,
      runtime: { kind: "llama-cpp", engine: "test" },
      hardware: { cpu: "test", cores: 1, memoryBytes: 0, gpu: null },
      slots: 1,
    },
  } as unknown as NeuronSession;
}

describe("the database cortex store's catalog", () => {
  let database: TestDatabase;
  before(async () => {
    database = await createPgliteTestDatabase();
  });
  after(() => database?.close());

  it("adds served models it lacks; the default model with its file, also to a catalog written before", async () => {
    const store = createDatabaseCortexStore({
      database,
      operatorShare: 0.7,
      newModelPrices: prices,
      log: createLogger({ level: "silent" }),
    });
    const catalog = createModelCatalog({ db: database.db });
    await catalog.upsertModel({
      id: defaultModel.id,
      contextLength: 32768,
      pricePromptPerMillion: 1,
      priceCompletionPerMillion: 2,
    });
    await store.onNeuronModels(serving(defaultModel.id, "other-model"));
    const known = await catalog.getModel(defaultModel.id);
    assert.deepEqual(
      {
        sourceUrl: known?.sourceUrl,
        sha256: known?.sha256,
        sizeBytes: known?.sizeBytes,
        prices: [known?.pricePromptPerMillion, known?.priceCompletionPerMillion],
      },
      {
        sourceUrl: defaultModel.url,
        sha256: defaultModel.sha256,
        sizeBytes: defaultModel.sizeBytes,
        prices: [1, 2],
      },
      "the admin's prices stay",
    );
    const other = await catalog.getModel("other-model");
    assert.equal(other?.sourceUrl, null, "a model whose file nobody named has none");
    assert.equal(other?.pricePromptPerMillion, prices.promptPerMillion);
    await store.flush();
  });
});

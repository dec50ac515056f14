// SPDX-License-Identifier: PolyForm-Shield-1.0
// What an operator would have made in the portal before starting cortex: an account, a key with credit, neuron tokens, a price.

import { join } from "node:path";
import {
  createAccountStore,
  createApiKeyStore,
  createModelCatalog,
  createNeuronStore,
  Ledger,
  type ModelInput,
  openDatabase,
} from "@helexa/db";
import { TEST_MODEL_ID } from "./generated-model.js";

export interface SeededFabric {
  accountId: string;
  apiKey: string;
  neurons: Array<{ neuronId: string; token: string; operatorAccountId: string }>;
}

/** Written straight into `<home>/db` (the embedded database admits one process, so before cortex starts). */
export async function seedFabric(options: {
  home: string;
  accountName: string;
  neuronNames: string[];
  /** Micro-credits per million tokens of the test model. */
  prices: { prompt: number; completion: number };
  /** Where the test model's file comes from, for cortex to serve it to browser tabs. */
  modelFile?: { sourceUrl: string; sha256: string; sizeBytes: number };
  credits: number;
  /** Each neuron registered to an operator account of its own (its earnings then show whose work it was). */
  operatorPerNeuron?: boolean;
  /** More catalog entries (models with a source URL to provision, say), written in the same opening. */
  catalog?: ModelInput[];
}): Promise<SeededFabric> {
  const database = await openDatabase({ dataDir: join(options.home, "db") });
  try {
    const accounts = createAccountStore({ db: database.db });
    await accounts.ensurePlatformAccounts();
    const account = await accounts.createAccount({ name: options.accountName, role: "admin" });
    await using apiKeys = createApiKeyStore({ db: database.db });
    const { key } = await apiKeys.createApiKey({ accountId: account.id, name: "e2e" });
    await using neuronStore = createNeuronStore({ db: database.db });
    const neurons = [];
    for (const name of options.neuronNames) {
      const operator = options.operatorPerNeuron
        ? await accounts.createAccount({ name: `${name} operator`, role: "user" })
        : account;
      const neuron = await neuronStore.registerNeuron({ accountId: operator.id, name });
      neurons.push({ ...neuron, operatorAccountId: operator.id });
    }
    const catalog = createModelCatalog({ db: database.db });
    await catalog.upsertModel({
      id: TEST_MODEL_ID,
      ...options.modelFile,
      contextLength: 2048,
      pricePromptPerMillion: options.prices.prompt,
      priceCompletionPerMillion: options.prices.completion,
    });
    for (const model of options.catalog ?? []) await catalog.upsertModel(model);
    await using ledger = new Ledger({ db: database.db });
    await ledger.grantCredits({
      accountId: account.id,
      amount: options.credits,
      idempotencyKey: "e2e-grant",
    });
    return { accountId: account.id, apiKey: key, neurons };
  } finally {
    await database.close();
  }
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal's read models: usage by UTC day, ledger history paging, per-neuron work and earnings, totals.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { createAccountStore } from "./account-store.js";
import { Ledger } from "./ledger.js";
import { createModelCatalog } from "./model-catalog.js";
import { createNeuronStore } from "./neuron-store.js";
import type { DrizzleDatabase } from "./open-database.js";
import { createPortalQueries } from "./portal-queries.js";
import { usageRecords } from "./schema.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

interface JobFigures {
  model?: string;
  neuronId?: string | null;
  operatorAccountId?: string | null;
  promptTokens?: number;
  completionTokens?: number;
  cost: number;
}

async function fundedCustomer(db: DrizzleDatabase, ledger: Ledger, name = "customer") {
  const account = await createAccountStore({ db }).createAccount({
    name,
    email: `${randomUUID()}@example.com`,
  });
  await ledger.grantCredits({
    accountId: account.id,
    amount: 100 * credit,
    idempotencyKey: randomUUID(),
    description: "Welcome credit",
  });
  const runJob = async (figures: JobFigures) => {
    const jobId = randomUUID();
    await ledger.placeHold({
      jobId,
      accountId: account.id,
      amount: 10 * credit,
      job: { model: figures.model ?? "m" },
    });
    await ledger.settleHold({
      jobId,
      cost: figures.cost,
      operatorAccountId: figures.operatorAccountId ?? null,
      promptTokens: figures.promptTokens ?? 0,
      completionTokens: figures.completionTokens ?? 0,
      neuronId: figures.neuronId ?? null,
    });
    return jobId;
  };
  return { account, runJob };
}

describeOnEachBackend("PortalQueries", (backend) => {
  backend.test("usage is summed by UTC day and model over a half-open range", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const queries = createPortalQueries({ db });
    const customer = await fundedCustomer(db, ledger);
    const at = async (jobId: string, instant: string) => {
      await db
        .update(usageRecords)
        .set({ createdAt: new Date(instant) })
        .where(eq(usageRecords.jobId, jobId));
    };
    const job = (model: string, promptTokens: number, completionTokens: number, cost: number) =>
      customer.runJob({ model, promptTokens, completionTokens, cost });
    await at(await job("alpha", 10, 5, 100), "2026-03-01T23:59:59.999Z");
    await at(await job("alpha", 20, 7, 200), "2026-03-01T00:00:00.000Z");
    await at(await job("beta", 1, 1, 50), "2026-03-01T12:00:00.000Z");
    await at(await job("alpha", 3, 3, 30), "2026-03-02T00:00:00.000Z");
    await at(await job("alpha", 9, 9, 90), "2026-03-03T00:00:00.000Z");
    await at(await job("alpha", 9, 9, 90), "2026-02-28T23:59:59.999Z");

    const days = await queries.usageByDay({
      accountId: customer.account.id,
      from: new Date("2026-03-01T00:00:00Z"),
      to: new Date("2026-03-03T00:00:00Z"),
    });
    assert.deepEqual(days, [
      { day: "2026-03-01", model: "alpha", requests: 2, promptTokens: 30, completionTokens: 12, cost: 300 },
      { day: "2026-03-01", model: "beta", requests: 1, promptTokens: 1, completionTokens: 1, cost: 50 },
      { day: "2026-03-02", model: "alpha", requests: 1, promptTokens: 3, completionTokens: 3, cost: 30 },
    ]);
    const stranger = await fundedCustomer(db, ledger, "stranger");
    assert.deepEqual(
      await queries.usageByDay({ accountId: stranger.account.id, from: new Date(0), to: new Date() }),
      [],
    );
  });

  backend.test("ledger history is newest first, signed, and pages without gaps", async ({ db }) => {
    await using ledger = new Ledger({ db });
    const queries = createPortalQueries({ db });
    const customer = await fundedCustomer(db, ledger);
    const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
    const jobIds: string[] = [];
    for (const cost of [credit, 2 * credit, 3 * credit]) {
      jobIds.push(await customer.runJob({ cost, operatorAccountId: operator.id }));
    }

    const history = await queries.ledgerHistory({
      accountId: customer.account.id,
      kind: "customer_credit",
      limit: 10,
    });
    assert.deepEqual(
      history.map((entry) => [entry.amount, entry.transactionKind, entry.jobId, entry.description]),
      [
        [-3 * credit, "job", jobIds[2], null],
        [-2 * credit, "job", jobIds[1], null],
        [-credit, "job", jobIds[0], null],
        [100 * credit, "grant", null, "Welcome credit"],
      ],
    );
    assert.ok(history.every((entry) => entry.at instanceof Date && typeof entry.transactionId === "string"));

    const firstPage = await queries.ledgerHistory({
      accountId: customer.account.id,
      kind: "customer_credit",
      limit: 3,
    });
    const secondPage = await queries.ledgerHistory({
      accountId: customer.account.id,
      kind: "customer_credit",
      limit: 3,
      beforeEntryId: firstPage.at(-1)!.entryId,
    });
    assert.deepEqual(
      [...firstPage, ...secondPage].map((entry) => entry.entryId),
      history.map((entry) => entry.entryId),
    );
    assert.deepEqual(
      await queries.ledgerHistory({
        accountId: customer.account.id,
        kind: "customer_credit",
        limit: 10,
        before: new Date("2000-01-01"),
      }),
      [],
    );

    const earnings = await queries.ledgerHistory({
      accountId: operator.id,
      kind: "operator_earnings",
      limit: 10,
    });
    assert.deepEqual(
      earnings.map((entry) => [entry.amount, entry.jobId]),
      [
        [2_100_000, jobIds[2]],
        [1_400_000, jobIds[1]],
        [700_000, jobIds[0]],
      ],
    );
  });

  backend.test("an operator's neurons show what each served and earned, revoked last", async ({ db }) => {
    await using ledger = new Ledger({ db });
    await using neuronStore = createNeuronStore({ db });
    const queries = createPortalQueries({ db });
    const operator = await createAccountStore({ db }).createAccount({ name: "operator" });
    const otherOperator = await createAccountStore({ db }).createAccount({ name: "other operator" });
    const busy = await neuronStore.registerNeuron({ accountId: operator.id, name: "busy" });
    const retired = await neuronStore.registerNeuron({ accountId: operator.id, name: "retired" });
    const idle = await neuronStore.registerNeuron({ accountId: operator.id, name: "idle" });
    await neuronStore.revokeNeuron({ neuronId: retired.neuronId });
    await neuronStore.saveCapabilities({ neuronId: busy.neuronId, capabilities: { gpus: ["H200"] } });

    const customer = await fundedCustomer(db, ledger);
    const served = (neuronId: string, cost: number, operatorAccountId = operator.id) =>
      customer.runJob({ neuronId, cost, operatorAccountId, promptTokens: 100, completionTokens: 10 });
    await served(busy.neuronId, 1_000);
    await served(busy.neuronId, 2_001);
    await served(busy.neuronId, 0);
    await served(retired.neuronId, 10_000);
    // Work credited to another account (a neuron's id is only trusted through its token) is not this one's.
    await served(busy.neuronId, 5_000, otherOperator.id);

    const neurons = await queries.operatorNeurons(operator.id);
    assert.deepEqual(
      neurons.map((neuron) => [
        neuron.name,
        neuron.revoked,
        neuron.jobs,
        neuron.promptTokens,
        neuron.earnings,
      ]),
      [
        ["idle", false, 0, 0, 0],
        ["busy", false, 4, 400, 700 + 1_400],
        ["retired", true, 1, 100, 7_000],
      ],
    );
    assert.deepEqual(neurons[1]?.lastCapabilities, { gpus: ["H200"] });
    assert.equal(neurons[1]?.completionTokens, 40);
    assert.ok(neurons[2]?.revokedAt instanceof Date);
    assert.equal(neurons[0]?.id, idle.neuronId);
    assert.deepEqual(await queries.operatorNeurons(customer.account.id), []);
  });

  backend.test("platform and admin figures move with the work done", async ({ db }) => {
    await using ledger = new Ledger({ db });
    await using neuronStore = createNeuronStore({ db });
    const queries = createPortalQueries({ db });
    const catalog = createModelCatalog({ db });
    const since = new Date();
    const overviewBefore = await queries.adminOverview();
    const statsBefore = await queries.platformStats({ since });
    assert.deepEqual({ ...statsBefore, models: 0 }, { tokensServed: 0, requests: 0, models: 0 });

    for (const id of ["model-a", "model-b"]) {
      await catalog.upsertModel({
        id,
        contextLength: 4096,
        pricePromptPerMillion: 1,
        priceCompletionPerMillion: 1,
      });
    }
    const operator = await createAccountStore({ db }).createAccount({
      name: "op",
      email: `op-${randomUUID()}@x.io`,
    });
    const neuron = await neuronStore.registerNeuron({ accountId: operator.id, name: "newest" });
    const customer = await fundedCustomer(db, ledger);
    await customer.runJob({
      neuronId: neuron.neuronId,
      operatorAccountId: operator.id,
      cost: credit,
      promptTokens: 120,
      completionTokens: 30,
    });
    await ledger.placeHold({ jobId: randomUUID(), accountId: customer.account.id, amount: 2 * credit });

    assert.deepEqual(await queries.platformStats({ since }), {
      tokensServed: 150,
      requests: 1,
      models: (await catalog.listModels()).length,
    });
    const overview = await queries.adminOverview();
    const delta = Object.fromEntries(
      Object.entries(overview).map(([name, value]) => [
        name,
        value - overviewBefore[name as keyof typeof overview],
      ]),
    );
    assert.deepEqual(delta, {
      platformRevenue: 300_000,
      customerCredit: 99 * credit,
      customerHeld: 2 * credit,
      operatorEarnings: 700_000,
      accounts: 2,
      neurons: 1,
      jobsToday: 1,
    });

    const { neurons, total } = await queries.listAllNeurons({ limit: 1, offset: 0 });
    assert.equal(neurons.length, 1);
    assert.deepEqual(
      [
        neurons[0]?.id,
        neurons[0]?.ownerEmail,
        neurons[0]?.ownerName,
        neurons[0]?.jobs,
        neurons[0]?.promptTokens,
      ],
      [neuron.neuronId, operator.email, "op", 1, 120],
    );
    assert.ok(total >= 1);
    assert.equal((await queries.listAllNeurons({ limit: 1, offset: total })).neurons.length, 0);
  });
});

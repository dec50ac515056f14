// SPDX-License-Identifier: PolyForm-Shield-1.0
// Benchmark: holds and settlements per second on one hot account, batched against one transaction per call.

// Run: npx tsc -b packages/db && node packages/db/dist/bench-ledger.js [--seconds 3] [--concurrency 64]
// PostgreSQL is used where DATABASE_URL (or postgres://postgres@127.0.0.1:5432/test) answers.

import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { createAccountStore } from "./account-store.js";
import { checkLedgerIntegrity } from "./check-ledger-integrity.js";
import { Ledger } from "./ledger.js";
import type { Database } from "./open-database.js";
import {
  createPgliteTestDatabase,
  createPostgresTestDatabase,
  probePostgres,
  type TestDatabase,
} from "./testing/throwaway-database.js";

interface Figures {
  backend: string;
  mode: "batched" | "per-call";
  jobs: number;
  jobsPerSecond: number;
  holdP50Ms: number;
  holdP99Ms: number;
  settleP50Ms: number;
  settleP99Ms: number;
  clean: boolean;
}

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "64" },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

async function measure(database: Database, mode: Figures["mode"]): Promise<Figures> {
  const ledger = new Ledger({ db: database.db, mode });
  const accounts = createAccountStore({ db: database.db });
  // One customer for every request: the hot row the design warns about, plus the platform's revenue row.
  const customer = await accounts.createAccount({ name: "hot customer" });
  const operator = await accounts.createAccount({ name: "operator" });
  await ledger.grantCredits({
    accountId: customer.id,
    amount: 1_000_000_000_000,
    idempotencyKey: randomUUID(),
  });

  const holdLatencies: number[] = [];
  const settleLatencies: number[] = [];
  let jobs = 0;
  const runJob = async () => {
    const jobId = randomUUID();
    const placing = performance.now();
    await ledger.placeHold({ jobId, accountId: customer.id, amount: 50_000, job: { model: "bench" } });
    const settling = performance.now();
    await ledger.settleHold({
      jobId,
      cost: 1_000 + (jobs % 977),
      operatorAccountId: operator.id,
      promptTokens: 20,
      completionTokens: 30,
    });
    return { hold: settling - placing, settle: performance.now() - settling };
  };

  // Warm up connections and caches outside the measured window.
  await Promise.all(Array.from({ length: Math.min(concurrency, 16) }, runJob));

  const started = performance.now();
  const deadline = started + seconds * 1_000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const latency = await runJob();
        holdLatencies.push(latency.hold);
        settleLatencies.push(latency.settle);
        jobs += 1;
      }
    }),
  );
  const elapsedSeconds = (performance.now() - started) / 1_000;
  await ledger.close();
  const report = await checkLedgerIntegrity({ db: database.db });
  return {
    backend: database.kind,
    mode,
    jobs,
    jobsPerSecond: jobs / elapsedSeconds,
    holdP50Ms: percentile(holdLatencies, 0.5),
    holdP99Ms: percentile(holdLatencies, 0.99),
    settleP50Ms: percentile(settleLatencies, 0.5),
    settleP99Ms: percentile(settleLatencies, 0.99),
    clean: report.unbalancedTransactions === 0 && report.mismatchedBalances === 0,
  };
}

function percentile(samples: number[], fraction: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function printRow(figures: Figures): void {
  const cells = [
    figures.backend.padEnd(9),
    figures.mode.padEnd(9),
    String(figures.jobs).padStart(7),
    figures.jobsPerSecond.toFixed(0).padStart(10),
    (figures.jobsPerSecond * 2).toFixed(0).padStart(10),
    `${figures.holdP50Ms.toFixed(1)} / ${figures.holdP99Ms.toFixed(1)}`.padStart(16),
    `${figures.settleP50Ms.toFixed(1)} / ${figures.settleP99Ms.toFixed(1)}`.padStart(16),
    figures.clean ? "clean" : "BROKEN",
  ];
  console.log(cells.join("  "));
}

console.log(`ledger benchmark: one hot account, ${concurrency} requests in flight, ${seconds} s per run`);
console.log(
  [
    "backend  ",
    "mode     ",
    "   jobs",
    "    jobs/s",
    " ledger/s",
    " hold p50/p99 ms",
    "settle p50/p99 ms",
    "books",
  ].join("  "),
);

const backends: Array<() => Promise<TestDatabase>> = [createPgliteTestDatabase];
const postgresMissing = await probePostgres();
if (postgresMissing) console.log(`(PostgreSQL skipped: ${postgresMissing})`);
else backends.push(createPostgresTestDatabase);

let broken = false;
for (const createDatabase of backends) {
  for (const mode of ["batched", "per-call"] as const) {
    const database = await createDatabase();
    try {
      const figures = await measure(database, mode);
      broken ||= !figures.clean;
      printRow(figures);
    } finally {
      await database.close();
    }
  }
}
console.log("jobs/s: hold + settle pairs per second; ledger/s: hold and settle calls per second.");
if (broken) process.exitCode = 1;

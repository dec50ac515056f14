// SPDX-License-Identifier: PolyForm-Shield-1.0
// Recovery after a cortex died mid-job: holds left active and jobs left running are released and failed.

import { and, eq, lt } from "drizzle-orm";
import type { Ledger } from "./ledger.js";
import type { DrizzleDatabase } from "./open-database.js";
import { holds, jobs } from "./schema.js";

export interface RecoverUnsettledJobsOptions {
  db: DrizzleDatabase;
  ledger: Ledger;
  /**
   * Only jobs and holds created before this are recovered. The default, now, is right for one cortex
   * at its start. Where several cortex nodes share the database, pass a time older than the longest a
   * job may run, or one node's restart would release the holds of jobs other nodes are still serving.
   */
  startedBefore?: Date;
}

export interface RecoveryReport {
  /** Holds that were active and are now released. */
  releasedHolds: number;
  /** Job records that were running and are now failed. */
  failedJobs: number;
  jobIds: string[];
}

/**
 * Bills nothing. The job record knows the worst-case hold but not how many tokens reached the client
 * (usage arrives at the end of a job, and the end was lost with the process), and the design says
 * nobody pays for tokens they did not get. So the hold is released in full and the job
 * marked failed; the operator's earnings for the lost work are forgone with it.
 */
export async function recoverUnsettledJobs(options: RecoverUnsettledJobsOptions): Promise<RecoveryReport> {
  const cutoff = options.startedBefore ?? new Date();
  const runningJobs = await options.db
    .select({ jobId: jobs.id })
    .from(jobs)
    .where(and(eq(jobs.status, "running"), lt(jobs.createdAt, cutoff)));
  const activeHolds = await options.db
    .select({ jobId: holds.jobId })
    .from(holds)
    .where(and(eq(holds.status, "active"), lt(holds.createdAt, cutoff)));
  const jobIds = [...new Set([...runningJobs, ...activeHolds].map((row) => row.jobId))];
  // Through the ledger, so the releases are batched and locked like any other.
  const releases = await Promise.all(
    jobIds.map((jobId) => options.ledger.releaseHold({ jobId, status: "failed" })),
  );
  return {
    releasedHolds: releases.filter((release) => release.outcome === "released").length,
    failedJobs: releases.filter((release) => release.jobMarked).length,
    jobIds,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Durable job records and usage history; the ledger writes a job's final state when it settles.

import { and, desc, eq, gte } from "drizzle-orm";
import type { DrizzleDatabase } from "./open-database.js";
import { jobs, usageRecords } from "./schema.js";

export type Job = typeof jobs.$inferSelect;
export type UsageRecord = typeof usageRecords.$inferSelect;

export interface RecordJobStartInput {
  jobId: string;
  accountId: string;
  /** Null for a request made from a portal session. */
  apiKeyId?: string | null;
  model: string;
  holdAmount: number;
  neuronId?: string | null;
}

export interface JobStore {
  /**
   * Writes the job as running. Prefer passing `job` to Ledger.placeHold instead: the hold and the record
   * then commit together, and nothing is left for recovery to guess about.
   */
  recordJobStart(input: RecordJobStartInput): Promise<Job>;
  /** Which neuron is serving the job now (it may change when a neuron drops and the job resumes). */
  assignJobNeuron(input: { jobId: string; neuronId: string }): Promise<void>;
  getJob(jobId: string): Promise<Job | null>;
  listJobs(input: { accountId: string; limit?: number }): Promise<Job[]>;
  listUsage(input: { accountId: string; since?: Date; limit?: number }): Promise<UsageRecord[]>;
}

export function createJobStore(options: { db: DrizzleDatabase }): JobStore {
  const { db } = options;
  return {
    async recordJobStart(input) {
      const [job] = await db
        .insert(jobs)
        .values({
          id: input.jobId,
          accountId: input.accountId,
          apiKeyId: input.apiKeyId ?? null,
          model: input.model,
          holdAmount: input.holdAmount,
          neuronId: input.neuronId ?? null,
        })
        .returning();
      return job!;
    },

    async assignJobNeuron(input) {
      await db.update(jobs).set({ neuronId: input.neuronId }).where(eq(jobs.id, input.jobId));
    },

    async getJob(jobId) {
      const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId)).limit(1);
      return job ?? null;
    },

    async listJobs(input) {
      return db
        .select()
        .from(jobs)
        .where(eq(jobs.accountId, input.accountId))
        .orderBy(desc(jobs.createdAt))
        .limit(input.limit ?? 100);
    },

    async listUsage(input) {
      const conditions = [eq(usageRecords.accountId, input.accountId)];
      if (input.since) conditions.push(gte(usageRecords.createdAt, input.since));
      return db
        .select()
        .from(usageRecords)
        .where(and(...conditions))
        .orderBy(desc(usageRecords.createdAt))
        .limit(input.limit ?? 100);
    },
  };
}

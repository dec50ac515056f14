// SPDX-License-Identifier: PolyForm-Shield-1.0
// The model catalog: which models the fabric serves, where to fetch them, and what a million tokens cost.

import { asc, eq, sql } from "drizzle-orm";
import type { DrizzleDatabase } from "./open-database.js";
import { models } from "./schema.js";

export type Model = typeof models.$inferSelect;
export type ModelInput = Omit<typeof models.$inferInsert, "createdAt" | "updatedAt">;

export interface ModelCatalog {
  /** Inserts the model or replaces every given field of the existing one. */
  upsertModel(input: ModelInput): Promise<Model>;
  getModel(modelId: string): Promise<Model | null>;
  listModels(): Promise<Model[]>;
  deleteModel(modelId: string): Promise<boolean>;
}

export function createModelCatalog(options: { db: DrizzleDatabase }): ModelCatalog {
  const { db } = options;
  return {
    async upsertModel(input) {
      const { id: _id, ...changes } = input;
      const [model] = await db
        .insert(models)
        .values(input)
        .onConflictDoUpdate({ target: models.id, set: { ...changes, updatedAt: sql`now()` } })
        .returning();
      return model!;
    },

    async getModel(modelId) {
      const [model] = await db.select().from(models).where(eq(models.id, modelId)).limit(1);
      return model ?? null;
    },

    async listModels() {
      return db.select().from(models).orderBy(asc(models.id));
    },

    async deleteModel(modelId) {
      const deleted = await db.delete(models).where(eq(models.id, modelId)).returning({ id: models.id });
      return deleted.length > 0;
    },
  };
}

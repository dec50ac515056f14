// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs one suite against PGlite and against PostgreSQL, skipping PostgreSQL (or failing, under CI) when absent.

import { after, before, describe, it, type TestContext } from "node:test";
import type { DatabaseKind } from "../open-database.js";
import {
  createPgliteTestDatabase,
  createPostgresTestDatabase,
  probePostgres,
  type TestDatabase,
  testEnvironment,
} from "./throwaway-database.js";

export interface TestBackend {
  kind: DatabaseKind;
  /** Declares a test that receives this suite's database, or is skipped with the reason it is missing. */
  test(name: string, body: (database: TestDatabase, context: TestContext) => Promise<void>): void;
}

export function describeOnEachBackend(name: string, body: (backend: TestBackend) => void): void {
  for (const kind of ["pglite", "postgres"] as const) {
    describe(`${name} [${kind}]`, () => {
      let database: TestDatabase | undefined;
      let skipReason: string | undefined;

      before(async () => {
        if (kind === "postgres") {
          const unreachable = await probePostgres();
          if (unreachable) {
            if (testEnvironment.isContinuousIntegration)
              throw new Error(`${unreachable} (required when CI=true)`);
            skipReason = unreachable;
            return;
          }
        }
        database = kind === "pglite" ? await createPgliteTestDatabase() : await createPostgresTestDatabase();
      });
      after(async () => {
        await database?.close();
      });

      body({
        kind,
        test(testName, testBody) {
          it(testName, async (context) => {
            if (skipReason) {
              context.skip(skipReason);
              return;
            }
            await testBody(database!, context);
          });
        },
      });
    });
  }
}

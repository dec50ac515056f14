// SPDX-License-Identifier: PolyForm-Shield-1.0
// @helexa/db/test: throwaway PGlite and PostgreSQL databases for the tests of any package.

export { describeOnEachBackend, type TestBackend } from "./describe-on-each-backend.js";
export { withListenOutage } from "./listen-outage.js";
export {
  createEmptyPostgresDatabase,
  createPgliteTestDatabase,
  createPostgresTestDatabase,
  probePostgres,
  type TestDatabase,
  testEnvironment,
} from "./throwaway-database.js";

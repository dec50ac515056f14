// SPDX-License-Identifier: PolyForm-Shield-1.0
// Recognises PostgreSQL's unique_violation however the driver and Drizzle wrapped it.

/** Drizzle wraps driver errors in a DrizzleQueryError whose cause holds PostgreSQL's SQLSTATE. */
export function isUniqueViolation(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Object; depth += 1) {
    if ((current as { code?: unknown }).code === "23505") return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

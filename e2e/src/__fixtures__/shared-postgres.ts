// SPDX-License-Identifier: PolyForm-Shield-1.0
// A PostgreSQL that several cortex processes share, reached from inside the tests' network namespace.

import { probePostgres, testEnvironment } from "@helexa/db/test";

/**
 * Inside the namespace 127.0.0.1 is a loopback of its own, where no PostgreSQL listens; the server's
 * Unix socket is a file, reachable from every namespace. DATABASE_URL, when set, is tried first.
 */
const socketDirectories = ["/var/run/postgresql", "/tmp"];

/** An admin URL that works from here, or why there is none. */
export async function findPostgres(): Promise<{ adminUrl: string } | { unreachable: string }> {
  const candidates = [
    testEnvironment.postgresAdminUrl,
    ...socketDirectories.map((directory) => `postgres://postgres@localhost/test?host=${directory}`),
  ];
  const reasons: string[] = [];
  for (const url of candidates) {
    const unreachable = await probePostgres(url);
    if (!unreachable) return { adminUrl: url };
    reasons.push(unreachable);
  }
  return { unreachable: reasons.join("; ") };
}

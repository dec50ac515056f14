// SPDX-License-Identifier: PolyForm-Shield-1.0
// LISTEN/NOTIFY on both backends: only committed notifications arrive; a lost PostgreSQL listener comes back.

import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { listenerApplicationName } from "./database-notifications.js";
import type { DrizzleExecutor } from "./open-database.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

/** What a channel received, with a way to wait for a payload. */
function inbox() {
  const received: string[] = [];
  let reconnects = 0;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  return {
    received,
    get reconnects() {
      return reconnects;
    },
    handlers: {
      onNotification(payload: string) {
        received.push(payload);
        wake();
      },
      onReconnect() {
        reconnects += 1;
        wake();
      },
    },
    async until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${received}`);
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, 50);
          waiters.add(done);
        });
      }
    },
  };
}

const notify = (executor: DrizzleExecutor, channel: string, payload: string) =>
  executor.execute(sql`select pg_notify(${channel}, ${payload})`);

describeOnEachBackend("database notifications", (backend) => {
  backend.test(
    "a committed notification arrives; one whose transaction rolled back never does",
    async (database) => {
      const messages = inbox();
      await using _subscription = await database.notifications.listen(
        "helexa_test_commits",
        messages.handlers,
      );
      await assert.rejects(
        database.db.transaction(async (tx) => {
          await notify(tx, "helexa_test_commits", "rolled back");
          throw new Error("roll it back");
        }),
        /roll it back/,
      );
      await database.db.transaction(async (tx) => {
        await notify(tx, "helexa_test_commits", "in a transaction");
      });
      await notify(database.db, "helexa_test_commits", "alone");
      // Notifications arrive in commit order: had the rolled-back one gone out, it would be first.
      await messages.until(() => messages.received.length === 2, "both committed notifications");
      assert.deepEqual(messages.received, ["in a transaction", "alone"]);
    },
  );

  backend.test(
    "each listener hears its own channel, and nothing once it stops listening",
    async (database) => {
      const first = inbox();
      const second = inbox();
      const alsoFirst = inbox();
      const subscriptions = [
        await database.notifications.listen("helexa_test_first", first.handlers),
        await database.notifications.listen("helexa_test_second", second.handlers),
        await database.notifications.listen("helexa_test_first", alsoFirst.handlers),
      ];
      await notify(database.db, "helexa_test_first", "one");
      await notify(database.db, "helexa_test_second", "two");
      await second.until(() => second.received.length === 1, "the second channel's notification");
      await first.until(() => first.received.length === 1, "the first channel's notification");
      await alsoFirst.until(() => alsoFirst.received.length === 1, "the first channel's other listener");
      assert.deepEqual([first.received, second.received, alsoFirst.received], [["one"], ["two"], ["one"]]);

      await subscriptions[0]?.close();
      await notify(database.db, "helexa_test_first", "after the first stopped");
      await alsoFirst.until(() => alsoFirst.received.length === 2, "the other listener, still listening");
      assert.deepEqual(first.received, ["one"]);
      await subscriptions[1]?.close();
      await subscriptions[2]?.close();
      await notify(database.db, "helexa_test_second", "to nobody");
      // The sentinel: a channel listened on anew gets what is sent after it, and nothing before.
      const later = inbox();
      await using _later = await database.notifications.listen("helexa_test_second", later.handlers);
      await notify(database.db, "helexa_test_second", "sentinel");
      await later.until(() => later.received.length === 1, "the sentinel");
      assert.deepEqual([second.received, later.received], [["two"], ["sentinel"]]);
    },
  );

  backend.test("refuses a channel name it would have to quote", async (database) => {
    await assert.rejects(database.notifications.listen('x"; drop table accounts; --', inbox().handlers), {
      message: /not a usable channel name/,
    });
    await assert.rejects(
      database.notifications.listen("Upper", inbox().handlers),
      /not a usable channel name/,
    );
  });

  if (backend.kind !== "postgres") return;

  backend.test(
    "a lost LISTEN connection is made again: it listens anew and says what it may have missed",
    async (database) => {
      const messages = inbox();
      await using _subscription = await database.notifications.listen("helexa_test_lost", messages.handlers);
      await notify(database.db, "helexa_test_lost", "before");
      await messages.until(() => messages.received.length === 1, "the first notification");

      // What a server restart or a cut network does to the listener's connection.
      const killedAt = performance.now();
      await database.db.execute(
        sql`select pg_terminate_backend(pid) from pg_stat_activity
            where application_name = ${listenerApplicationName} and datname = current_database()`,
      );
      await messages.until(() => messages.reconnects === 1, "the listener to reconnect");
      const reconnectMs = performance.now() - killedAt;
      await notify(database.db, "helexa_test_lost", "after");
      await messages.until(() => messages.received.length === 2, "a notification after the reconnection");
      assert.deepEqual(messages.received, ["before", "after"]);
      assert.ok(reconnectMs < 2_000, `reconnected in ${reconnectMs.toFixed(0)} ms`);
    },
  );
});

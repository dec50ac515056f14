// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for handing out slots in order, with aborts and shutdown.

import assert from "node:assert/strict";
import { test } from "node:test";
import { SlotPool } from "./slot-pool.js";

test("a request waits for a busy slot and gets it on release, first come first served", async () => {
  const pool = new SlotPool(["only"]);
  const first = await pool.acquire();
  const order: string[] = [];
  const second = pool.acquire().then((slot) => order.push(`second:${slot}`));
  const third = pool.acquire().then((slot) => order.push(`third:${slot}`));
  assert.equal(pool.waiting, 2);
  pool.release(first);
  await second;
  pool.release("only");
  await third;
  assert.deepEqual(order, ["second:only", "third:only"]);
});

test("an aborted waiter leaves the queue and the slot goes to the next", async () => {
  const pool = new SlotPool([1]);
  await pool.acquire();
  const controller = new AbortController();
  const abandoned = pool.acquire(controller.signal);
  const patient = pool.acquire();
  controller.abort(new Error("gave up"));
  await assert.rejects(abandoned, /gave up/);
  assert.equal(pool.waiting, 1);
  pool.release(1);
  assert.equal(await patient, 1);
});

test("close fails the waiters and later requests", async () => {
  const pool = new SlotPool([1]);
  await pool.acquire();
  const waiting = pool.acquire();
  pool.close(new Error("shut down"));
  await assert.rejects(waiting, /shut down/);
  await assert.rejects(pool.acquire(), /shut down/);
});

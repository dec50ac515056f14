// SPDX-License-Identifier: PolyForm-Shield-1.0
// Ledger totals by kind follow grants and settlements and always sum to zero.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createAccountStore } from "./account-store.js";
import { Ledger } from "./ledger.js";
import { ledgerTotals } from "./ledger-totals.js";
import { describeOnEachBackend } from "./testing/describe-on-each-backend.js";

const credit = 1_000_000;

describeOnEachBackend("ledgerTotals", (backend) => {
  backend.test("sums balances by kind through a grant and a settled job", async ({ db }) => {
    const before = await ledgerTotals({ db });
    assert.deepEqual(Object.keys(before).sort(), [
      "customer_credit",
      "funding",
      "operator_earnings",
      "platform_revenue",
    ]);

    await using ledger = new Ledger({ db, defaultOperatorShare: 0.7 });
    const accounts = createAccountStore({ db });
    const customer = await accounts.createAccount({ name: "customer" });
    const operator = await accounts.createAccount({ name: "operator" });
    await ledger.grantCredits({ accountId: customer.id, amount: 10 * credit, idempotencyKey: randomUUID() });
    const jobId = randomUUID();
    await ledger.placeHold({ jobId, accountId: customer.id, amount: 2 * credit, job: { model: "tiny" } });
    await ledger.settleHold({ jobId, cost: credit, operatorAccountId: operator.id });

    const after = await ledgerTotals({ db });
    assert.deepEqual(
      {
        customer_credit: after.customer_credit - before.customer_credit,
        operator_earnings: after.operator_earnings - before.operator_earnings,
        platform_revenue: after.platform_revenue - before.platform_revenue,
        funding: after.funding - before.funding,
      },
      {
        customer_credit: 9 * credit,
        operator_earnings: 700_000,
        platform_revenue: 300_000,
        funding: -10 * credit,
      },
    );
    assert.equal(
      Object.values(after).reduce((sum, value) => sum + value, 0),
      0,
    );
  });
});

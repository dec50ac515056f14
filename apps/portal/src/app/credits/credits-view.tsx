// SPDX-License-Identifier: PolyForm-Shield-1.0
// Credits: the balance, packs to buy, a purchase coming back from checkout, purchases and the ledger's history.

"use client";

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";
import { Card } from "../../components/card";
import { QueryState } from "../../components/query-state";
import { SignedInPage } from "../../components/signed-in-page";
import { Stat } from "../../components/stat";
import { ErrorNote, SuccessNote } from "../../components/status";
import { Table } from "../../components/table";
import {
  formatCreditAmount,
  formatCredits,
  formatDateTime,
  formatMoney,
  formatSignedCredits,
} from "../../lib/format";
import { useTRPC } from "../providers";

export function CreditsView() {
  return (
    <SignedInPage title="Credits">
      <PurchaseReturn />
      <Balance />
      <Packs />
      <Purchases />
      <History />
    </SignedInPage>
  );
}

function Balance() {
  const trpc = useTRPC();
  const balance = useQuery(trpc.billing.balance.queryOptions());
  return (
    <Card titleId="balance-title" title="Balance">
      <QueryState query={balance} skeletonRows={1}>
        {(data) => (
          <dl className="stat-grid">
            <Stat label="Available" main testId="balance-available">
              {formatCredits(data.available)}
            </Stat>
            <Stat label="Balance">{formatCredits(data.balance)}</Stat>
            <Stat label="Held for running requests">{formatCredits(data.held)}</Stat>
          </dl>
        )}
      </QueryState>
    </Card>
  );
}

function Packs() {
  const trpc = useTRPC();
  const packs = useQuery(trpc.billing.packs.queryOptions());
  const [leaving, setLeaving] = useState(false);
  const checkout = useMutation(
    trpc.billing.checkout.mutationOptions({
      onSuccess: (data) => {
        setLeaving(true);
        window.location.assign(data.url);
      },
    }),
  );

  return (
    <Card titleId="packs-title" title="Buy credits">
      {packs.data?.provider === "dev" ? (
        <p className="dev-banner" role="note">
          <strong>Dev payments: no money moves.</strong> This install has no payment provider set up; buying a
          pack adds the credits without charging anyone.
        </p>
      ) : null}
      <QueryState
        query={packs}
        skeletonRows={2}
        isEmpty={(data) => data.packs.length === 0}
        empty="No credit packs are on sale right now."
      >
        {(data) => (
          <ul className="pack-grid">
            {data.packs.map((pack) => (
              <li key={pack.id} className="pack">
                <h3>{pack.name}</h3>
                <p className="pack-credits">{formatCredits(pack.credits)}</p>
                <p className="muted">{formatMoney(pack.priceAmount, pack.currency)}</p>
                <button
                  type="button"
                  className="button button-primary button-block"
                  data-testid={`buy-${pack.id}`}
                  disabled={checkout.isPending || leaving}
                  onClick={() => checkout.mutate({ packId: pack.id })}
                >
                  {checkout.isPending && checkout.variables?.packId === pack.id
                    ? "Starting checkout…"
                    : `Buy ${pack.name}`}
                </button>
              </li>
            ))}
          </ul>
        )}
      </QueryState>
      {checkout.isError ? <ErrorNote error={checkout.error} /> : null}
    </Card>
  );
}

/** After checkout, Stripe or the dev page sends the browser back with ?purchase=<id>: show how it went. */
function PurchaseReturn() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const params = useSearchParams();
  const purchaseId = params.get("purchase");
  const cancelled = params.get("cancelled");
  const [since] = useState(() => Date.now());
  const purchase = useQuery({
    ...trpc.billing.purchase.queryOptions({ id: purchaseId ?? "" }),
    enabled: Boolean(purchaseId),
    // A webhook may land a moment after the browser: ask again for a while.
    refetchInterval: (query) =>
      query.state.data?.status === "pending" && Date.now() - since < 60_000 ? 1000 : false,
  });
  const status = purchase.data?.status;

  useEffect(() => {
    if (status !== "paid") return;
    void queryClient.invalidateQueries({ queryKey: trpc.billing.pathKey() });
  }, [status, queryClient, trpc]);

  if (cancelled) {
    return <p className="notice">Checkout was cancelled: nothing was charged.</p>;
  }
  if (!purchaseId) return null;
  if (purchase.isPending) return <p className="notice">Checking your purchase…</p>;
  if (purchase.isError) return <ErrorNote error={purchase.error} />;
  if (status === "paid") {
    return (
      <SuccessNote>
        <strong>Payment received.</strong> {formatCredits(purchase.data.credits)} added to your balance.
      </SuccessNote>
    );
  }
  if (status === "expired") {
    return <ErrorNote>This checkout expired without payment: nothing was charged.</ErrorNote>;
  }
  return (
    <p className="notice" role="status">
      <span className="spinner" aria-hidden="true" /> Waiting for the payment to be confirmed… (
      {formatCredits(purchase.data.credits)})
      {Date.now() - since > 60_000 ? " This is taking longer than usual: reload the page in a minute." : null}
    </p>
  );
}

function Purchases() {
  const trpc = useTRPC();
  const purchases = useQuery(trpc.billing.purchases.queryOptions());
  if (purchases.isSuccess && purchases.data.length === 0) return null;
  return (
    <Card titleId="purchases-title" title="Purchases">
      <QueryState query={purchases} skeletonRows={2}>
        {(data) => (
          <Table
            columns={[
              "Date",
              "Pack",
              { label: "Credits", numeric: true },
              { label: "Price", numeric: true },
              "Status",
            ]}
          >
            {data.map((purchase) => (
              <tr key={purchase.id}>
                <td>{formatDateTime(purchase.createdAt)}</td>
                <td>
                  {purchase.packId}
                  {purchase.provider === "dev" ? <span className="badge badge-muted">dev</span> : null}
                </td>
                <td className="num">{formatCreditAmount(purchase.credits)}</td>
                <td className="num">{formatMoney(purchase.priceAmount, purchase.currency)}</td>
                <td>
                  {purchase.status === "paid" ? (
                    <span className="badge badge-ok">paid</span>
                  ) : purchase.status === "pending" ? (
                    purchase.provider === "dev" ? (
                      <Link href={`/credits/dev-checkout?purchase=${encodeURIComponent(purchase.id)}`}>
                        pending — finish
                      </Link>
                    ) : (
                      <span className="badge badge-warn">pending</span>
                    )
                  ) : (
                    <span className="badge badge-muted">{purchase.status}</span>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </QueryState>
    </Card>
  );
}

const kindLabels: Record<string, string> = {
  grant: "Grant",
  purchase: "Purchase",
  job: "Usage",
  adjustment: "Adjustment",
};

const historyPageSize = 50;
const historyMaxRows = 200;

function History() {
  const trpc = useTRPC();
  const [limit, setLimit] = useState(historyPageSize);
  const history = useQuery({
    ...trpc.billing.history.queryOptions({ limit }),
    placeholderData: keepPreviousData,
  });
  const more = (history.data?.length ?? 0) >= limit && limit < historyMaxRows;

  return (
    <Card titleId="history-title" title="History">
      <QueryState query={history} empty="No credit movements yet — buy a pack above to get started.">
        {(rows) => (
          <>
            <Table columns={["When", "Description", "Kind", { label: "Amount", numeric: true }]}>
              {rows.map((row) => (
                <tr key={row.entryId}>
                  <td>{formatDateTime(row.at)}</td>
                  <td>{row.description ?? "—"}</td>
                  <td>{kindLabels[row.transactionKind] ?? row.transactionKind}</td>
                  <td className={row.amount < 0 ? "num amount-out" : "num amount-in"}>
                    {formatSignedCredits(row.amount)}
                  </td>
                </tr>
              ))}
            </Table>
            {more ? (
              <button
                type="button"
                className="button"
                onClick={() => setLimit((now) => Math.min(historyMaxRows, now + historyPageSize))}
                disabled={history.isFetching}
              >
                {history.isFetching ? "Loading…" : "Show older"}
              </button>
            ) : null}
          </>
        )}
      </QueryState>
    </Card>
  );
}

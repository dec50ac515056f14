// SPDX-License-Identifier: PolyForm-Shield-1.0
// A stand-in checkout for installs without Stripe: shows the pack and pays it without charging anyone.

"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";
import { RequireAccount } from "../../../components/session";
import { ErrorNote, Loading } from "../../../components/status";
import { formatCredits, formatDateTime, formatMoney } from "../../../lib/format";
import { useTRPC } from "../../providers";

export function DevCheckout() {
  return (
    <RequireAccount>
      {() => (
        <div className="page page-narrow">
          <p className="dev-banner" role="note">
            <strong>Dev checkout — no money moves.</strong> This page stands in for a payment provider on
            installs without one. Paying here adds the credits and charges nobody.
          </p>
          <h1>Checkout</h1>
          <CheckoutCard />
        </div>
      )}
    </RequireAccount>
  );
}

function CheckoutCard() {
  const trpc = useTRPC();
  const router = useRouter();
  const purchaseId = useSearchParams().get("purchase");
  const purchase = useQuery({
    ...trpc.billing.purchase.queryOptions({ id: purchaseId ?? "" }),
    enabled: Boolean(purchaseId),
  });
  const packs = useQuery(trpc.billing.packs.queryOptions());
  const [leaving, setLeaving] = useState(false);
  const pay = useMutation(
    trpc.billing.devPay.mutationOptions({
      onSuccess: () => {
        setLeaving(true);
        router.push(`/credits?purchase=${encodeURIComponent(purchaseId ?? "")}`);
      },
    }),
  );

  if (!purchaseId) {
    return (
      <ErrorNote>
        No purchase was named. Start from <Link href="/credits">Credits</Link>.
      </ErrorNote>
    );
  }
  if (purchase.isPending) return <Loading />;
  if (purchase.isError) {
    return (
      <ErrorNote>
        {purchase.error.message} — start again from <Link href="/credits">Credits</Link>.
      </ErrorNote>
    );
  }
  const data = purchase.data;
  const pack = packs.data?.packs.find((candidate) => candidate.id === data.packId);

  return (
    <section className="card" aria-labelledby="checkout-title">
      <h2 id="checkout-title">{pack?.name ?? data.packId} pack</h2>
      <dl className="details">
        <div>
          <dt>Credits</dt>
          <dd>{formatCredits(data.credits)}</dd>
        </div>
        <div>
          <dt>Price</dt>
          <dd>
            {formatMoney(data.priceAmount, data.currency)}{" "}
            <span className="badge badge-warn">not charged</span>
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatDateTime(data.createdAt)}</dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{data.status}</dd>
        </div>
      </dl>
      {data.status === "pending" ? (
        <div className="actions">
          <button
            type="button"
            className="button button-primary"
            data-testid="dev-pay"
            disabled={pay.isPending || leaving}
            onClick={() => pay.mutate({ id: data.id })}
          >
            {pay.isPending || leaving ? "Paying…" : "Pay (dev, no money moves)"}
          </button>
          <Link href="/credits?cancelled=1" className="button">
            Cancel
          </Link>
        </div>
      ) : (
        <p>
          This purchase is {data.status} already.{" "}
          <Link href={`/credits?purchase=${encodeURIComponent(data.id)}`}>Back to credits</Link>
        </p>
      )}
      {pay.isError ? <ErrorNote error={pay.error} /> : null}
    </section>
  );
}

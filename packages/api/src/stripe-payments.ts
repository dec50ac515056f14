// SPDX-License-Identifier: PolyForm-Shield-1.0
// Stripe Checkout: sessions for credit packs, and the webhook that credits a paid one exactly once.

import type { PurchaseStore } from "@helexa/db";
import Stripe from "stripe";
import type { CreditPack, PaymentProvider } from "./services.js";

export function createStripePaymentProvider(options: {
  secretKey: string;
  client?: Stripe;
}): PaymentProvider {
  const stripe = options.client ?? new Stripe(options.secretKey);
  return {
    kind: "stripe",
    async createCheckout({ account, pack, successUrl, cancelUrl }) {
      const session = await stripe.checkout.sessions.create({
        mode: "payment",
        success_url: successUrl,
        cancel_url: cancelUrl,
        client_reference_id: account.id,
        ...(account.email ? { customer_email: account.email } : {}),
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: pack.currency,
              unit_amount: pack.priceAmount,
              product_data: { name: `helexa ${pack.name}: ${pack.credits / 1_000_000} credits` },
            },
          },
        ],
        metadata: { packId: pack.id, accountId: account.id },
      });
      if (!session.url) throw new Error("Stripe returned a checkout session without a url");
      return { id: session.id, url: session.url };
    },
  };
}

export type StripeWebhookResult = { status: 200; outcome: string } | { status: 400; error: string };

/**
 * Verifies the signature over the raw body, then hands checkout events to the purchase store, which
 * credits each purchase once whatever order or how often events arrive. Events of other types are
 * acknowledged and ignored, so Stripe does not retry them.
 */
export async function handleStripeWebhook(options: {
  rawBody: Buffer;
  signature: string | undefined;
  webhookSecret: string;
  purchases: PurchaseStore;
  /** The packs on sale, to rebuild a purchase whose row was never written (see below). */
  creditPacks?: readonly CreditPack[];
}): Promise<StripeWebhookResult> {
  if (!options.signature) return { status: 400, error: "missing Stripe-Signature header" };
  let event: Stripe.Event;
  try {
    event = Stripe.webhooks.constructEvent(options.rawBody, options.signature, options.webhookSecret);
  } catch (error) {
    return { status: 400, error: `signature check failed: ${(error as Error).message}` };
  }
  const session = event.data.object as Stripe.Checkout.Session;
  let type: "checkout.completed" | "checkout.expired" | null = null;
  if (
    event.type === "checkout.session.completed" ||
    event.type === "checkout.session.async_payment_succeeded"
  ) {
    // A delayed payment method completes the session unpaid; its money arrives with a later event.
    if (session.payment_status === "paid" || session.payment_status === "no_payment_required") {
      type = "checkout.completed";
    }
  } else if (
    event.type === "checkout.session.expired" ||
    event.type === "checkout.session.async_payment_failed"
  ) {
    type = "checkout.expired";
  }
  if (!type) return { status: 200, outcome: "ignored" };
  const handle = () =>
    options.purchases.handlePaymentEvent({
      eventId: event.id,
      provider: "stripe",
      type,
      purchaseId: session.id,
    });
  let result = await handle();
  // The checkout exists at Stripe before its row exists here; if writing the row failed, the money was
  // still taken. The session's metadata (written by this server, under Stripe's signature) rebuilds it.
  const pack = options.creditPacks?.find((candidate) => candidate.id === session.metadata?.packId);
  const accountId = session.metadata?.accountId;
  if (result.outcome === "unknown_purchase" && type === "checkout.completed" && pack && accountId) {
    try {
      await options.purchases.createPurchase({
        id: session.id,
        provider: "stripe",
        accountId,
        packId: pack.id,
        credits: pack.credits,
        priceAmount: session.amount_total ?? pack.priceAmount,
        currency: session.currency ?? pack.currency,
      });
    } catch {
      // Another delivery of this event wrote it first; handling it again below reads that row.
    }
    result = await handle();
  }
  return { status: 200, outcome: result.outcome };
}

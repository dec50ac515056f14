// SPDX-License-Identifier: PolyForm-Shield-1.0
// The billing router: balance, the credit ledger's history, credit packs and checkout.

import { randomUUID } from "node:crypto";
import { byIdInputSchema, checkoutInputSchema, ledgerHistoryInputSchema } from "@helexa/protocol";
import { TRPCError } from "@trpc/server";
import { protectedProcedure, router } from "../trpc.js";

export const billingRouter = router({
  balance: protectedProcedure.query(({ ctx }) => ctx.services.ledger.getBalance(ctx.session.account.id)),

  history: protectedProcedure.input(ledgerHistoryInputSchema).query(({ ctx, input }) =>
    ctx.services.queries.ledgerHistory({
      accountId: ctx.session.account.id,
      kind: "customer_credit",
      limit: input.limit,
      ...(input.beforeEntryId ? { beforeEntryId: input.beforeEntryId } : {}),
    }),
  ),

  packs: protectedProcedure.query(({ ctx }) => ({
    provider: ctx.services.payments.kind,
    packs: ctx.services.creditPacks,
  })),

  purchases: protectedProcedure.query(({ ctx }) =>
    ctx.services.purchases.listPurchases(ctx.session.account.id, { limit: 50 }),
  ),

  /** Starts a checkout for a pack; the browser goes to the answer's url to pay. */
  checkout: protectedProcedure.input(checkoutInputSchema).mutation(async ({ ctx, input }) => {
    const { services, session } = ctx;
    const pack = services.creditPacks.find((candidate) => candidate.id === input.packId);
    if (!pack) throw new TRPCError({ code: "NOT_FOUND", message: `no credit pack ${input.packId}` });
    const portal = services.urls.portal;
    const checkout = await services.payments.createCheckout({
      account: session.account,
      pack,
      successUrl: `${portal}/credits?purchase={CHECKOUT_SESSION_ID}`,
      cancelUrl: `${portal}/credits?cancelled=1`,
    });
    await services.purchases.createPurchase({
      id: checkout.id,
      provider: services.payments.kind,
      accountId: session.account.id,
      packId: pack.id,
      credits: pack.credits,
      priceAmount: pack.priceAmount,
      currency: pack.currency,
    });
    return { purchaseId: checkout.id, url: checkout.url };
  }),

  purchase: protectedProcedure.input(byIdInputSchema).query(async ({ ctx, input }) => {
    const purchase = await ctx.services.purchases.getPurchase(input.id);
    if (!purchase || purchase.accountId !== ctx.session.account.id) {
      throw new TRPCError({ code: "NOT_FOUND", message: "no such purchase" });
    }
    return purchase;
  }),

  /**
   * The dev provider's "pay" button: no money moves. It completes the checkout through the same
   * event handler Stripe's webhook calls, so the dev path exercises the real one.
   */
  devPay: protectedProcedure.input(byIdInputSchema).mutation(async ({ ctx, input }) => {
    if (ctx.services.payments.kind !== "dev") {
      throw new TRPCError({ code: "FORBIDDEN", message: "payments go through Stripe on this install" });
    }
    const purchase = await ctx.services.purchases.getPurchase(input.id);
    if (!purchase || purchase.accountId !== ctx.session.account.id || purchase.provider !== "dev") {
      throw new TRPCError({ code: "NOT_FOUND", message: "no such purchase" });
    }
    return ctx.services.purchases.handlePaymentEvent({
      eventId: `dev_evt_${randomUUID()}`,
      provider: "dev",
      type: "checkout.completed",
      purchaseId: purchase.id,
    });
  }),
});

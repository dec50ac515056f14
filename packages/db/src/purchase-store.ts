// SPDX-License-Identifier: PolyForm-Shield-1.0
// Credit packs bought through a checkout, and the provider's events that pay for them exactly once.

import { HelexaError } from "@helexa/protocol";
import { desc, eq } from "drizzle-orm";
import type { Ledger } from "./ledger.js";
import type { DrizzleDatabase, DrizzleTransaction } from "./open-database.js";
import { type PaymentProvider, paymentEvents, purchases } from "./schema.js";

export type Purchase = typeof purchases.$inferSelect;

export const paymentEventTypes = ["checkout.completed", "checkout.expired"] as const;
export type PaymentEventType = (typeof paymentEventTypes)[number];

export interface CreatePurchaseInput {
  /** The provider's checkout session id. */
  id: string;
  provider: PaymentProvider;
  accountId: string;
  packId: string;
  /** Micro-credits the pack adds, positive. */
  credits: number;
  /** What the customer pays, in the currency's smallest unit (cents). */
  priceAmount: number;
  currency: string;
}

export interface PaymentEventInput {
  /** The provider's event id: the same id is handled once, whatever arrives after. */
  eventId: string;
  provider: PaymentProvider;
  type: PaymentEventType;
  purchaseId: string;
}

/**
 * credited: the purchase was paid and its credits added now. already_handled: this event id was
 * handled before; nothing changed. already_paid: another event paid it before. expired: the checkout
 * ended unpaid. ignored_paid: an expiry arrived for a purchase already paid. unknown_purchase: no such
 * purchase from this provider.
 */
export type PaymentEventOutcome =
  | "credited"
  | "already_handled"
  | "already_paid"
  | "expired"
  | "ignored_paid"
  | "unknown_purchase";

export interface PurchaseStore {
  createPurchase(input: CreatePurchaseInput): Promise<Purchase>;
  /**
   * Applies the event in one transaction with the grant it makes: the event's row, the purchase's
   * status and the credit commit together or not at all, so a crash anywhere leaves the event
   * unhandled and the provider's retry finds it so.
   */
  handlePaymentEvent(input: PaymentEventInput): Promise<{ outcome: PaymentEventOutcome }>;
  getPurchase(id: string): Promise<Purchase | null>;
  /** Newest first. */
  listPurchases(accountId: string, options?: { limit?: number }): Promise<Purchase[]>;
}

export function createPurchaseStore(options: { db: DrizzleDatabase; ledger: Ledger }): PurchaseStore {
  const { db, ledger } = options;

  return {
    async createPurchase(input) {
      if (!Number.isSafeInteger(input.credits) || input.credits <= 0) {
        throw new HelexaError("invalid_request", "credits must be a positive integer (micro-credits)", {
          param: "credits",
        });
      }
      if (!Number.isSafeInteger(input.priceAmount) || input.priceAmount < 0) {
        throw new HelexaError("invalid_request", "priceAmount must be a non-negative integer", {
          param: "priceAmount",
        });
      }
      const [purchase] = await db
        .insert(purchases)
        .values({
          id: input.id,
          provider: input.provider,
          accountId: input.accountId,
          packId: input.packId,
          credits: input.credits,
          priceAmount: input.priceAmount,
          currency: input.currency,
        })
        .returning();
      return purchase!;
    },

    async handlePaymentEvent(input) {
      if (!(paymentEventTypes as readonly string[]).includes(input.type)) {
        throw new HelexaError("invalid_request", `unknown payment event type ${input.type}`, {
          param: "type",
        });
      }
      return db.transaction(async (tx) => {
        // The event's row goes first: a concurrent delivery of the same event waits on its key until
        // this transaction ends, then finds it and does nothing.
        const [claimed] = await tx
          .insert(paymentEvents)
          .values({
            id: input.eventId,
            provider: input.provider,
            type: input.type,
            purchaseId: input.purchaseId,
            outcome: "handling",
          })
          .onConflictDoNothing({ target: paymentEvents.id })
          .returning({ id: paymentEvents.id });
        if (!claimed) return { outcome: "already_handled" as const };
        const outcome = await applyPaymentEvent(tx, ledger, input);
        if (outcome === "unknown_purchase") {
          // Not handled: when the purchase appears (its row written late), a retry of this event pays it.
          await tx.delete(paymentEvents).where(eq(paymentEvents.id, input.eventId));
        } else {
          await tx.update(paymentEvents).set({ outcome }).where(eq(paymentEvents.id, input.eventId));
        }
        return { outcome };
      });
    },

    async getPurchase(id) {
      const [purchase] = await db.select().from(purchases).where(eq(purchases.id, id)).limit(1);
      return purchase ?? null;
    },

    async listPurchases(accountId, listOptions = {}) {
      return db
        .select()
        .from(purchases)
        .where(eq(purchases.accountId, accountId))
        .orderBy(desc(purchases.createdAt), desc(purchases.id))
        .limit(listOptions.limit ?? 50);
    },
  };
}

async function applyPaymentEvent(
  tx: DrizzleTransaction,
  ledger: Ledger,
  input: PaymentEventInput,
): Promise<Exclude<PaymentEventOutcome, "already_handled">> {
  // Locked so that two different events for one purchase take turns.
  const [purchase] = await tx
    .select()
    .from(purchases)
    .where(eq(purchases.id, input.purchaseId))
    .limit(1)
    .for("update");
  // A provider may only settle its own checkouts: a dev event must never pay for a Stripe purchase.
  if (!purchase || purchase.provider !== input.provider) return "unknown_purchase";

  if (input.type === "checkout.expired") {
    if (purchase.status === "paid") return "ignored_paid";
    if (purchase.status === "pending") {
      await tx.update(purchases).set({ status: "expired" }).where(eq(purchases.id, purchase.id));
    }
    return "expired";
  }

  if (purchase.status === "paid") return "already_paid";
  // A completion after an expiry still credits: the money was taken.
  const grant = await ledger.grantCredits(
    {
      accountId: purchase.accountId,
      amount: purchase.credits,
      idempotencyKey: `purchase:${purchase.id}`,
      kind: "purchase",
      description: `Bought ${purchase.packId} (${purchase.provider})`,
    },
    { transaction: tx },
  );
  await tx
    .update(purchases)
    .set({ status: "paid", paidAt: new Date(), ledgerTransactionId: grant.transactionId })
    .where(eq(purchases.id, purchase.id));
  return grant.alreadyApplied ? "already_paid" : "credited";
}

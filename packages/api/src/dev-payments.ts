// SPDX-License-Identifier: PolyForm-Shield-1.0
// The dev payment provider, for installs without Stripe keys: a labelled checkout page where no money moves.

import { randomUUID } from "node:crypto";
import type { PaymentProvider } from "./services.js";

export function createDevPaymentProvider(options: { portalUrl: string }): PaymentProvider {
  return {
    kind: "dev",
    async createCheckout() {
      const id = `dev_cs_${randomUUID()}`;
      return { id, url: `${options.portalUrl}/credits/dev-checkout?purchase=${encodeURIComponent(id)}` };
    },
  };
}

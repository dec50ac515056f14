// SPDX-License-Identifier: PolyForm-Shield-1.0
// The credit packs on sale: what a customer can buy and what it costs.

import type { CreditPack } from "./services.js";

const credits = (whole: number) => whole * 1_000_000;

export const defaultCreditPacks: readonly CreditPack[] = [
  { id: "starter", name: "Starter", credits: credits(10), priceAmount: 1000, currency: "usd" },
  { id: "builder", name: "Builder", credits: credits(55), priceAmount: 5000, currency: "usd" },
  { id: "scale", name: "Scale", credits: credits(120), priceAmount: 10000, currency: "usd" },
];

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal's API: the tRPC router cortex serves on its portal socket, and the payment providers.

export type { PortalContext, PortalSession } from "./context.js";
export { defaultCreditPacks } from "./credit-packs.js";
export { createDevPaymentProvider } from "./dev-payments.js";
export { type AppRouter, appRouter } from "./root.js";
export type {
  AccountMail,
  ChatPart,
  CheckoutSession,
  CreditPack,
  Fabric,
  LiveNeuron,
  PasswordHasher,
  PaymentProvider,
  PortalServices,
} from "./services.js";
export {
  createStripePaymentProvider,
  handleStripeWebhook,
  type StripeWebhookResult,
} from "./stripe-payments.js";
export { createCallerFactory } from "./trpc.js";

// SPDX-License-Identifier: PolyForm-Shield-1.0
// What the portal's router needs from cortex: the stores, the live fabric, payments and mail.

import type {
  Account,
  AccountStore,
  ApiKeyStore,
  AuthStore,
  ConversationStore,
  Ledger,
  ModelCatalog,
  NeuronStore,
  PortalQueries,
  PurchaseStore,
} from "@helexa/db";
import type { ChatMessage, Usage } from "@helexa/protocol";

/** A neuron connected to this cortex now. */
export interface LiveNeuron {
  neuronId: string;
  operatorAccountId: string | null;
  kind: "native" | "browser";
  models: { id: string; contextLength: number }[];
  runtime: { kind: string; engine: string } | null;
  hardware: { cpu: string; cores: number; memoryBytes: number; gpu: string | null } | null;
  slots: number;
  activeJobs: number;
  connectedAt: Date;
}

export type ChatPart =
  | { type: "text-delta"; text: string; usage?: Usage }
  | { type: "finish"; usage: Usage; finishReason: string }
  | { type: "error"; error: { code: string; message: string } };

/** The fabric as this cortex sees it; null when this cortex runs no orchestrator (the chat then answers 503). */
export interface Fabric {
  liveNeurons(): LiveNeuron[];
  /**
   * Runs a chat through the gateway's own path (hold, placement, metering) for a portal session;
   * throws HelexaError (insufficient_quota, no_capacity, model_not_found) before the first part.
   */
  chat(options: {
    accountId: string;
    model: string;
    messages: ChatMessage[];
    maxTokens?: number;
    temperature?: number;
    signal: AbortSignal;
  }): Promise<{ jobId: string; neuronId: string; parts: AsyncIterable<ChatPart> }>;
  /** Closes a neuron's session now (its token was revoked); its running jobs end with neuron_lost. */
  disconnectNeuron(neuronId: string): void;
  /** What a job of these tokens costs, in micro-credits, at the catalog's price now. */
  cost(options: { model: string; usage: Usage }): Promise<number>;
}

export interface CheckoutSession {
  id: string;
  /** Where the browser goes to pay. */
  url: string;
}

export interface CreditPack {
  id: string;
  name: string;
  credits: number;
  /** Price in the currency's smallest unit. */
  priceAmount: number;
  currency: string;
}

export interface PaymentProvider {
  readonly kind: "stripe" | "dev";
  createCheckout(options: {
    account: Account;
    pack: CreditPack;
    successUrl: string;
    cancelUrl: string;
  }): Promise<CheckoutSession>;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
}

/** Sends the links of verification and password-reset mail (or logs them when no SMTP is set). */
export interface AccountMail {
  sendVerification(account: Account): Promise<void>;
  sendPasswordReset(account: Account): Promise<void>;
}

export interface PortalServices {
  accounts: AccountStore;
  auth: AuthStore;
  apiKeys: ApiKeyStore;
  neurons: NeuronStore;
  catalog: ModelCatalog;
  conversations: ConversationStore;
  purchases: PurchaseStore;
  queries: PortalQueries;
  ledger: Ledger;
  passwords: PasswordHasher;
  mail: AccountMail;
  fabric: Fabric | null;
  payments: PaymentProvider;
  creditPacks: readonly CreditPack[];
  /** Which sign-in providers besides email and password are configured. */
  oauthProviders: readonly ("github" | "google")[];
  /** Where neurons dial (shown in the operator's `helexa neuron` command) and where API clients call. */
  urls: { orchestrator: string | null; gateway: string | null; portal: string };
}

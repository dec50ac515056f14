// SPDX-License-Identifier: PolyForm-Shield-1.0
// helexa's data layer: the database, its schema, and the stores and credit ledger built on it.

export {
  type Account,
  type AccountStore,
  type AccountWithBalances,
  type CreateAccountInput,
  createAccountStore,
  normalizeEmail,
} from "./account-store.js";
export {
  type ApiKeyRecord,
  type ApiKeyStore,
  type ApiKeyStoreOptions,
  apiKeyPrefix,
  type CreateApiKeyInput,
  createApiKeyStore,
  type VerifiedApiKey,
} from "./api-key-store.js";
export {
  type ActiveSession,
  type AuthStore,
  type AuthStoreOptions,
  createAuthStore,
  type OAuthProfile,
  type SessionSummary,
} from "./auth-store.js";
export { checkLedgerIntegrity, type LedgerIntegrityReport } from "./check-ledger-integrity.js";
export { type ComputeCostInput, computeCost } from "./compute-cost.js";
export {
  type AppendMessageInput,
  type Conversation,
  type ConversationMessage,
  type ConversationStore,
  type ConversationSummary,
  createConversationStore,
} from "./conversation-store.js";
export type {
  DatabaseNotifications,
  NotificationHandlers,
  NotificationSubscription,
} from "./database-notifications.js";
export {
  createJobStore,
  type Job,
  type JobStore,
  type RecordJobStartInput,
  type UsageRecord,
} from "./job-store.js";
export { defaultOperatorShare, Ledger, type LedgerOptions } from "./ledger.js";
export { ledgerTotals } from "./ledger-totals.js";
export type {
  Balance,
  GrantCreditsInput,
  GrantResult,
  Hold,
  HoldRelease,
  PlaceHoldInput,
  ReleaseHoldInput,
  SettleHoldInput,
  Settlement,
} from "./ledger-types.js";
export { createModelCatalog, type Model, type ModelCatalog, type ModelInput } from "./model-catalog.js";
export {
  announceNeuronRevocation,
  type NeuronRevocation,
  type NeuronRevocationHandlers,
  neuronRevocationChannel,
  neuronRevocationSchema,
  watchNeuronRevocations,
} from "./neuron-revocations.js";
export {
  createNeuronStore,
  type NeuronRecord,
  type NeuronStore,
  type NeuronStoreOptions,
  neuronTokenPrefix,
  type VerifiedNeuron,
} from "./neuron-store.js";
export {
  type Database,
  type DatabaseKind,
  type DrizzleDatabase,
  type DrizzleExecutor,
  type DrizzleTransaction,
  type OpenDatabaseOptions,
  openDatabase,
  type Schema,
} from "./open-database.js";
export {
  type AdminNeuron,
  type AdminOverview,
  createPortalQueries,
  type LedgerHistoryEntry,
  type OperatorNeuron,
  type PlatformStats,
  type PortalQueries,
  type UsageDay,
} from "./portal-queries.js";
export {
  type CreatePurchaseInput,
  createPurchaseStore,
  type PaymentEventInput,
  type PaymentEventOutcome,
  type PaymentEventType,
  type Purchase,
  type PurchaseStore,
  paymentEventTypes,
} from "./purchase-store.js";
export {
  type RecoverUnsettledJobsOptions,
  type RecoveryReport,
  recoverUnsettledJobs,
} from "./recover-unsettled-jobs.js";
export {
  type AccountRole,
  accountRoles,
  accounts,
  apiKeys,
  authSessions,
  conversationMessages,
  conversations,
  type EmailTokenPurpose,
  emailTokenPurposes,
  emailTokens,
  type HoldStatus,
  holdStatuses,
  holds,
  type JobStatus,
  jobStatuses,
  jobs,
  type LedgerAccountKind,
  type LedgerTransactionKind,
  ledgerAccountKinds,
  ledgerAccounts,
  ledgerEntries,
  ledgerTransactionKinds,
  ledgerTransactions,
  type MessageRole,
  messageRoles,
  microCredits,
  models,
  neurons,
  oauthIdentities,
  type PaymentProvider,
  type PurchaseStatus,
  paymentEvents,
  paymentProviders,
  platformLedgerAccountIds,
  purchaseStatuses,
  purchases,
  schema,
  signInAttempts,
  usageRecords,
} from "./schema.js";
export {
  generateSecretToken,
  hashSecretToken,
  looksLikeSecretToken,
  type SecretToken,
} from "./secret-token.js";

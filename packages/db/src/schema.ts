// SPDX-License-Identifier: PolyForm-Shield-1.0
// The database schema: accounts, keys, neurons, the model catalog, jobs, usage and the double-entry credit ledger.

// This file is read by drizzle-kit on its own, so it imports nothing local.
import type { MlcBuild } from "@helexa/protocol";
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/**
 * Money: integer micro-credits (1 credit = 1,000,000) in a PostgreSQL bigint, read into a JS number.
 * Why number and not bigint: amounts cross JSON boundaries (tRPC, HTTP, the wire protocol) where a
 * bigint cannot go. A number is exact up to 2^53 - 1 micro-credits (about 9 billion credits), far above
 * any balance this platform holds; every amount written is checked to be a safe integer, balances are
 * capped there by a check constraint, and a value read from the database that is not one throws instead
 * of silently losing precision.
 */
export const microCredits = customType<{ data: number; driverData: string | number | bigint }>({
  dataType() {
    return "bigint";
  },
  toDriver(value: number): string {
    return String(requireSafeInteger(value, "micro-credit amount"));
  },
  fromDriver(value: string | number | bigint): number {
    return requireSafeInteger(Number(value), "micro-credit amount read from the database");
  },
});

/** Token counts are bigint in the database for headroom, and safe integers in JS. */
const tokenCount = (name: string) => bigint(name, { mode: "number" });

function requireSafeInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} is not a safe integer: ${value}`);
  return value;
}

const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();

export const accountRoles = ["admin", "user"] as const;
export type AccountRole = (typeof accountRoles)[number];

export const accounts = pgTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    email: text("email").unique(),
    name: text("name").notNull(),
    role: text("role", { enum: accountRoles }).notNull().default("user"),
    /** An argon2id hash; null for accounts that sign in only with GitHub or Google. */
    passwordHash: text("password_hash"),
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true, mode: "date" }),
    /** A suspended account cannot sign in, and its sessions and keys stop working at once. */
    suspendedAt: timestamp("suspended_at", { withTimezone: true, mode: "date" }),
    createdAt: createdAt(),
  },
  (table) => [check("accounts_role_check", sql`${table.role} in ('admin', 'user')`)],
);

export const ledgerAccountKinds = [
  "customer_credit",
  "operator_earnings",
  "platform_revenue",
  "funding",
] as const;
export type LedgerAccountKind = (typeof ledgerAccountKinds)[number];

/** The two ledger accounts that belong to no account have fixed ids, so no lookup is needed to find them. */
export const platformLedgerAccountIds = {
  platformRevenue: "platform_revenue",
  funding: "funding",
} as const;

export const ledgerAccounts = pgTable(
  "ledger_accounts",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").references(() => accounts.id, { onDelete: "restrict" }),
    kind: text("kind", { enum: ledgerAccountKinds }).notNull(),
    /** The sum of this account's ledger entries, kept in step with them in the same transaction. */
    balance: microCredits("balance").notNull().default(0),
    /** The sum of this account's active holds: credit promised to running jobs. */
    held: microCredits("held").notNull().default(0),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex("ledger_accounts_account_kind_unique").on(table.accountId, table.kind),
    uniqueIndex("ledger_accounts_platform_kind_unique").on(table.kind).where(sql`${table.accountId} is null`),
    check(
      "ledger_accounts_kind_check",
      sql`${table.kind} in ('customer_credit', 'operator_earnings', 'platform_revenue', 'funding')`,
    ),
    check(
      "ledger_accounts_owner_check",
      sql`(${table.accountId} is null) = (${table.kind} in ('platform_revenue', 'funding'))`,
    ),
    // Funding is the source side of grants and purchases, so it is the one account that goes negative.
    check("ledger_accounts_balance_check", sql`${table.kind} = 'funding' or ${table.balance} >= 0`),
    check(
      "ledger_accounts_held_check",
      sql`${table.held} >= 0 and ${table.held} <= greatest(${table.balance}, 0)`,
    ),
    // The cap that keeps reading money as a JS number exact: a write past it fails instead.
    check(
      "ledger_accounts_safe_integer_check",
      sql`${table.balance} between -9007199254740991 and 9007199254740991`,
    ),
  ],
);

export const ledgerTransactionKinds = ["grant", "purchase", "job", "adjustment"] as const;
export type LedgerTransactionKind = (typeof ledgerTransactionKinds)[number];

export const ledgerTransactions = pgTable(
  "ledger_transactions",
  {
    id: text("id").primaryKey(),
    /** A Stripe event id, "job:<jobId>", or a caller's own key: the same key never moves credit twice. */
    idempotencyKey: text("idempotency_key").notNull().unique(),
    kind: text("kind", { enum: ledgerTransactionKinds }).notNull(),
    jobId: text("job_id"),
    description: text("description"),
    createdAt: createdAt(),
  },
  (table) => [
    check("ledger_transactions_kind_check", sql`${table.kind} in ('grant', 'purchase', 'job', 'adjustment')`),
    index("ledger_transactions_job_id_index").on(table.jobId),
  ],
);

export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    transactionId: text("transaction_id")
      .notNull()
      .references(() => ledgerTransactions.id, { onDelete: "restrict" }),
    ledgerAccountId: text("ledger_account_id")
      .notNull()
      .references(() => ledgerAccounts.id, { onDelete: "restrict" }),
    /** Signed: negative leaves the account, positive enters it. A transaction's entries sum to zero. */
    amount: microCredits("amount").notNull(),
  },
  (table) => [
    index("ledger_entries_transaction_index").on(table.transactionId),
    // With the id, an account's history reads newest first straight off the index.
    index("ledger_entries_ledger_account_index").on(table.ledgerAccountId, table.id),
    check("ledger_entries_amount_check", sql`${table.amount} <> 0`),
  ],
);

export const holdStatuses = ["active", "settled", "released"] as const;
export type HoldStatus = (typeof holdStatuses)[number];

export const holds = pgTable(
  "holds",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id").notNull().unique(),
    ledgerAccountId: text("ledger_account_id")
      .notNull()
      .references(() => ledgerAccounts.id, { onDelete: "restrict" }),
    amount: microCredits("amount").notNull(),
    status: text("status", { enum: holdStatuses }).notNull().default("active"),
    /** What the job cost when settled (at most `amount`); null until then. */
    settledAmount: microCredits("settled_amount"),
    createdAt: createdAt(),
    settledAt: timestamp("settled_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    check("holds_status_check", sql`${table.status} in ('active', 'settled', 'released')`),
    check("holds_amount_check", sql`${table.amount} > 0`),
    check(
      "holds_settled_amount_check",
      sql`${table.settledAmount} is null or (${table.settledAmount} >= 0 and ${table.settledAmount} <= ${table.amount})`,
    ),
    index("holds_active_index").on(table.createdAt).where(sql`${table.status} = 'active'`),
  ],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** The key's first characters, safe to show in lists so a person can tell keys apart. */
    prefix: text("prefix").notNull(),
    /** sha256 of the whole key, hex. The key itself is shown once and never stored. */
    secretHash: text("secret_hash").notNull().unique(),
    /** Micro-credits this key may spend in all; null for no limit beyond the account's balance. */
    spendLimit: microCredits("spend_limit"),
    /** Requests per minute; null for no limit. */
    rateLimitPerMinute: integer("rate_limit_per_minute"),
    /** Micro-credits charged to this key so far, kept in step with its settlements. */
    spent: microCredits("spent").notNull().default(0),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "date" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    index("api_keys_account_index").on(table.accountId),
    check("api_keys_spend_limit_check", sql`${table.spendLimit} is null or ${table.spendLimit} > 0`),
    check(
      "api_keys_rate_limit_check",
      sql`${table.rateLimitPerMinute} is null or ${table.rateLimitPerMinute} > 0`,
    ),
    check("api_keys_spent_check", sql`${table.spent} >= 0`),
  ],
);

export const neuronKinds = ["native", "browser"] as const;
export type NeuronKind = (typeof neuronKinds)[number];

export const neurons = pgTable(
  "neurons",
  {
    id: text("id").primaryKey(),
    /**
     * The operator: the account that earns for this neuron's work. Null for an anonymous donor's browser
     * tab: the platform keeps its share.
     */
    accountId: text("account_id").references(() => accounts.id, { onDelete: "cascade" }),
    /** "browser": a portal tab serving jobs (a /donate page), which may vanish at any moment. */
    kind: text("kind", { enum: neuronKinds }).notNull().default("native"),
    /** The address an anonymous tab's token was made for, to rate-limit their creation per address. */
    createdFromAddress: text("created_from_address"),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    /** What the neuron last said it is (runtime, hardware, models), kept for when it is offline. */
    lastCapabilities: jsonb("last_capabilities"),
    createdAt: createdAt(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    index("neurons_account_index").on(table.accountId),
    check("neurons_kind_check", sql`${table.kind} in ('native', 'browser')`),
    check("neurons_operator_check", sql`${table.accountId} is not null or ${table.kind} = 'browser'`),
    index("neurons_anonymous_address_index")
      .on(table.createdFromAddress, table.createdAt)
      .where(sql`${table.accountId} is null`),
  ],
);

export const models = pgTable(
  "models",
  {
    /** The model's name as clients ask for it. */
    id: text("id").primaryKey(),
    sourceUrl: text("source_url"),
    sha256: text("sha256"),
    sizeBytes: bigint("size_bytes", { mode: "number" }),
    /** The model's MLC build for WebLLM in donating tabs (`mlcBuildSchema`), when it has one. */
    mlc: jsonb("mlc").$type<MlcBuild>(),
    contextLength: integer("context_length").notNull(),
    /** Micro-credits per million prompt tokens. */
    pricePromptPerMillion: microCredits("price_prompt_per_million").notNull(),
    /** Micro-credits per million completion tokens. */
    priceCompletionPerMillion: microCredits("price_completion_per_million").notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (table) => [
    check("models_context_length_check", sql`${table.contextLength} > 0`),
    check(
      "models_price_check",
      sql`${table.pricePromptPerMillion} >= 0 and ${table.priceCompletionPerMillion} >= 0`,
    ),
  ],
);

export const jobStatuses = ["running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** The durable job record: a job whose hold was not settled when cortex died is recovered from it. */
export const jobs = pgTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "restrict" }),
    /** Null for requests made from a portal session rather than with an API key. */
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "set null" }),
    model: text("model").notNull(),
    // No foreign key: a browser neuron serving from a portal tab has no row in neurons.
    neuronId: text("neuron_id"),
    status: text("status", { enum: jobStatuses }).notNull().default("running"),
    holdAmount: microCredits("hold_amount").notNull(),
    promptTokens: tokenCount("prompt_tokens").notNull().default(0),
    completionTokens: tokenCount("completion_tokens").notNull().default(0),
    cost: microCredits("cost").notNull().default(0),
    createdAt: createdAt(),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    check("jobs_status_check", sql`${table.status} in ('running', 'completed', 'failed', 'cancelled')`),
    index("jobs_account_created_index").on(table.accountId, table.createdAt),
    index("jobs_created_index").on(table.createdAt),
    index("jobs_running_index").on(table.createdAt).where(sql`${table.status} = 'running'`),
  ],
);

export const usageRecords = pgTable(
  "usage_records",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id").notNull().unique(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "restrict" }),
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "set null" }),
    model: text("model").notNull(),
    neuronId: text("neuron_id"),
    promptTokens: tokenCount("prompt_tokens").notNull(),
    completionTokens: tokenCount("completion_tokens").notNull(),
    cost: microCredits("cost").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    index("usage_records_account_created_index").on(table.accountId, table.createdAt),
    // What each neuron served (the operator's page) and what the fabric served lately (the landing page).
    index("usage_records_neuron_index").on(table.neuronId),
    index("usage_records_created_index").on(table.createdAt),
  ],
);

/** A signed-in browser: the session cookie names a row here, so ending a session takes effect at once. */
export const authSessions = pgTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    userAgent: text("user_agent"),
    address: text("address"),
    createdAt: createdAt(),
    lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    endedAt: timestamp("ended_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [index("auth_sessions_account_index").on(table.accountId)],
);

/** An account's sign-in at GitHub or Google. */
export const oauthIdentities = pgTable(
  "oauth_identities",
  {
    provider: text("provider").notNull(),
    providerAccountId: text("provider_account_id").notNull(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex("oauth_identities_provider_unique").on(table.provider, table.providerAccountId),
    index("oauth_identities_account_index").on(table.accountId),
  ],
);

export const emailTokenPurposes = ["verify_email", "reset_password"] as const;
export type EmailTokenPurpose = (typeof emailTokenPurposes)[number];

/** One-time links sent by email; stored as a sha256 hash like every other secret. */
export const emailTokens = pgTable(
  "email_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: emailTokenPurposes }).notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    check("email_tokens_purpose_check", sql`${table.purpose} in ('verify_email', 'reset_password')`),
    index("email_tokens_account_index").on(table.accountId),
  ],
);

/** Sign-in attempts, counted per email and per address to rate-limit guessing across every cortex. */
export const signInAttempts = pgTable(
  "sign_in_attempts",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    email: text("email").notNull(),
    address: text("address").notNull(),
    succeeded: boolean("succeeded").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    index("sign_in_attempts_email_index").on(table.email, table.createdAt),
    index("sign_in_attempts_address_index").on(table.address, table.createdAt),
  ],
);

export const paymentProviders = ["stripe", "dev"] as const;
export type PaymentProvider = (typeof paymentProviders)[number];
export const purchaseStatuses = ["pending", "paid", "expired"] as const;
export type PurchaseStatus = (typeof purchaseStatuses)[number];

/** A credit pack bought through a checkout: pending until the provider says it was paid. */
export const purchases = pgTable(
  "purchases",
  {
    /** The provider's checkout session id. */
    id: text("id").primaryKey(),
    provider: text("provider", { enum: paymentProviders }).notNull(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "restrict" }),
    packId: text("pack_id").notNull(),
    credits: microCredits("credits").notNull(),
    /** What the customer pays, in the currency's smallest unit (cents). */
    priceAmount: integer("price_amount").notNull(),
    currency: text("currency").notNull(),
    status: text("status", { enum: purchaseStatuses }).notNull().default("pending"),
    ledgerTransactionId: text("ledger_transaction_id"),
    createdAt: createdAt(),
    paidAt: timestamp("paid_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    check("purchases_provider_check", sql`${table.provider} in ('stripe', 'dev')`),
    check("purchases_status_check", sql`${table.status} in ('pending', 'paid', 'expired')`),
    check("purchases_credits_check", sql`${table.credits} > 0`),
    index("purchases_account_index").on(table.accountId, table.createdAt),
  ],
);

/** Every payment event handled, by its provider's event id: a replay finds its row and changes nothing. */
export const paymentEvents = pgTable("payment_events", {
  id: text("id").primaryKey(),
  provider: text("provider", { enum: paymentProviders }).notNull(),
  type: text("type").notNull(),
  purchaseId: text("purchase_id"),
  /** What handling the event did: "credited", "ignored", "expired"... for people reading the log. */
  outcome: text("outcome").notNull(),
  receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export const conversations = pgTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    model: text("model").notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (table) => [index("conversations_account_index").on(table.accountId, table.updatedAt)],
);

export const messageRoles = ["system", "user", "assistant"] as const;
export type MessageRole = (typeof messageRoles)[number];

export const conversationMessages = pgTable(
  "conversation_messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    role: text("role", { enum: messageRoles }).notNull(),
    content: text("content").notNull(),
    /** The job that wrote an assistant reply; its cost is the job's. */
    jobId: text("job_id"),
    model: text("model"),
    cost: microCredits("cost"),
    promptTokens: integer("prompt_tokens"),
    completionTokens: integer("completion_tokens"),
    /** Why a reply ended early: "stopped", "insufficient_quota", an error's message. */
    finishNote: text("finish_note"),
    createdAt: createdAt(),
  },
  (table) => [
    check("conversation_messages_role_check", sql`${table.role} in ('system', 'user', 'assistant')`),
    index("conversation_messages_conversation_index").on(table.conversationId, table.createdAt),
  ],
);

/** Every table, for drizzle's relational queries and for other packages that query directly. */
export const schema = {
  accounts,
  ledgerAccounts,
  ledgerTransactions,
  ledgerEntries,
  holds,
  apiKeys,
  neurons,
  models,
  jobs,
  usageRecords,
  authSessions,
  oauthIdentities,
  emailTokens,
  signInAttempts,
  purchases,
  paymentEvents,
  conversations,
  conversationMessages,
};

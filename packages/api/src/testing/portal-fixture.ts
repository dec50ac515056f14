// SPDX-License-Identifier: PolyForm-Shield-1.0
// Real PortalServices over a throwaway PGlite for the router's tests: real stores and ledger, recorded mail.

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import {
  type Account,
  createAccountStore,
  createApiKeyStore,
  createAuthStore,
  createConversationStore,
  createModelCatalog,
  createNeuronStore,
  createPortalQueries,
  createPurchaseStore,
  Ledger,
} from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import type { Usage } from "@helexa/protocol";
import { createTRPCClient, httpLink, type TRPCClient } from "@trpc/client";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import superjson from "superjson";
import type { PortalContext, PortalSession } from "../context.js";
import { defaultCreditPacks } from "../credit-packs.js";
import { createDevPaymentProvider } from "../dev-payments.js";
import { type AppRouter, appRouter } from "../root.js";
import type {
  AccountMail,
  ChatPart,
  Fabric,
  PasswordHasher,
  PaymentProvider,
  PortalServices,
} from "../services.js";
import { createCallerFactory } from "../trpc.js";

const createCaller = createCallerFactory(appRouter);
export type PortalCaller = ReturnType<typeof createCaller>;

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

/**
 * scrypt from node:crypto: @helexa/auth's argon2id hasher is not a dependency of this package, and the
 * router only needs some real hash that verifies what it hashed and nothing else.
 */
export function createScryptPasswordHasher(): PasswordHasher {
  return {
    async hash(password) {
      const salt = randomBytes(16);
      const derived = await scryptAsync(password, salt, 32);
      return `scrypt$${salt.toString("base64url")}$${derived.toString("base64url")}`;
    },
    async verify(hash, password) {
      const [scheme, salt, expected] = hash.split("$");
      if (scheme !== "scrypt" || !salt || !expected) return false;
      const expectedBytes = Buffer.from(expected, "base64url");
      if (expectedBytes.length !== 32) return false;
      const derived = await scryptAsync(password, Buffer.from(salt, "base64url"), 32);
      return timingSafeEqual(derived, expectedBytes);
    },
  };
}

export interface RecordedMail {
  kind: "verification" | "password-reset";
  accountId: string;
  email: string | null;
  token: string;
}

/** Account mail that mints real email tokens in the auth store and records them instead of mailing. */
function createRecordingMail(services: () => PortalServices, sent: RecordedMail[]): AccountMail {
  const send = async (account: Account, kind: RecordedMail["kind"]) => {
    const token = await services().auth.createEmailToken({
      accountId: account.id,
      purpose: kind === "verification" ? "verify_email" : "reset_password",
      ttlMs: 3_600_000,
    });
    sent.push({ kind, accountId: account.id, email: account.email, token });
  };
  return {
    sendVerification: (account) => send(account, "verification"),
    sendPasswordReset: (account) => send(account, "password-reset"),
  };
}

/**
 * A fake fabric: the real chat path (gateway, placement, metering) is covered end to end in cortex's
 * tests; here a chat replies with fixed parts so the router's saving and streaming can be checked.
 */
export interface FakeFabric extends Fabric {
  disconnected: string[];
  chats: { accountId: string; model: string }[];
}

export function createFakeFabric(reply: ChatPart[] = defaultReply): FakeFabric {
  const disconnected: string[] = [];
  const chats: { accountId: string; model: string }[] = [];
  let jobs = 0;
  return {
    disconnected,
    chats,
    liveNeurons: () => [],
    async chat(options) {
      chats.push({ accountId: options.accountId, model: options.model });
      jobs += 1;
      return {
        jobId: `fake-job-${jobs}`,
        neuronId: "fake-neuron",
        parts: (async function* () {
          yield* reply;
        })(),
      };
    },
    disconnectNeuron(neuronId) {
      disconnected.push(neuronId);
    },
    /** 10 micro-credits a prompt token, 20 a completion token. */
    async cost({ usage }: { model: string; usage: Usage }) {
      return usage.promptTokens * 10 + usage.completionTokens * 20;
    },
  };
}

const defaultReply: ChatPart[] = [
  { type: "text-delta", text: "Hello" },
  { type: "text-delta", text: ", world" },
  { type: "finish", usage: { promptTokens: 3, completionTokens: 2 }, finishReason: "stop" },
];

export const portalUrl = "http://portal.test";

export interface PortalFixture {
  database: TestDatabase;
  services: PortalServices;
  ledger: Ledger;
  mail: RecordedMail[];
  fabric: FakeFabric;
  /** A caller with this context's session, looked up as cortex does: null when it was ended. */
  caller(sessionId: string | null): Promise<PortalCaller>;
  /** Signs an account up through the router and opens a real session for it. */
  signUp(input: {
    email: string;
    name?: string;
    password?: string;
  }): Promise<{ account: Account; sessionId: string }>;
  /** One more real session for the account. */
  openSession(accountId: string): Promise<string>;
  close(): Promise<void>;
}

export const defaultPassword = "correct horse battery";

/**
 * Without `database`, a throwaway PGlite made for the fixture and removed by close(); with one (from
 * describeOnEachBackend, say), its owner closes it.
 */
export async function createPortalFixture(
  options: { payments?: PaymentProvider; fabric?: FakeFabric; database?: TestDatabase } = {},
): Promise<PortalFixture> {
  const database = options.database ?? (await createPgliteTestDatabase());
  const { db } = database;
  const ledger = new Ledger({ db });
  const mail: RecordedMail[] = [];
  const fabric = options.fabric ?? createFakeFabric();
  const auth = createAuthStore({ db });
  const apiKeys = createApiKeyStore({ db });
  const neurons = createNeuronStore({ db });
  const services: PortalServices = {
    accounts: createAccountStore({ db }),
    auth,
    apiKeys,
    neurons,
    catalog: createModelCatalog({ db }),
    conversations: createConversationStore({ db }),
    purchases: createPurchaseStore({ db, ledger }),
    queries: createPortalQueries({ db }),
    ledger,
    passwords: createScryptPasswordHasher(),
    mail: createRecordingMail(() => services, mail),
    fabric,
    payments: options.payments ?? createDevPaymentProvider({ portalUrl }),
    creditPacks: defaultCreditPacks,
    oauthProviders: [],
    urls: { orchestrator: "ws://cortex.test:8040", gateway: "http://gateway.test", portal: portalUrl },
  };
  const contextFor = async (sessionId: string | null): Promise<PortalContext> => {
    let session: PortalSession | null = null;
    if (sessionId) {
      const active = await auth.getActiveSession(sessionId);
      if (active)
        session = { sessionId: active.sessionId, publicId: active.publicId, account: active.account };
    }
    return { services, session, address: "127.0.0.1", userAgent: "node:test" };
  };

  const openSession = async (accountId: string) =>
    (await auth.createSession({ accountId, ttlMs: 3_600_000, address: "127.0.0.1", userAgent: "node:test" }))
      .id;

  return {
    database,
    services,
    ledger,
    mail,
    fabric,
    caller: async (sessionId) => createCaller(await contextFor(sessionId)),
    async signUp(input) {
      const anonymous = createCaller(await contextFor(null));
      const { accountId } = await anonymous.account.signUp({
        email: input.email,
        name: input.name ?? input.email.split("@")[0]!,
        password: input.password ?? defaultPassword,
      });
      const account = (await services.accounts.getAccount(accountId))!;
      return { account, sessionId: await openSession(accountId) };
    },
    openSession,
    async close() {
      await apiKeys.close();
      await neurons.close();
      await ledger.close();
      if (!options.database) await database.close();
    },
  };
}

/** The router over real HTTP (tRPC's standalone adapter) with a client, for what only the wire shows. */
export async function serveOverHttp(
  fixture: PortalFixture,
): Promise<{ client: TRPCClient<AppRouter>; close(): Promise<void> }> {
  const server = createHTTPServer({
    router: appRouter,
    basePath: "/api/trpc/",
    createContext: async () => ({
      services: fixture.services,
      session: null,
      address: "127.0.0.1",
      userAgent: null,
    }),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const client = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `http://127.0.0.1:${port}/api/trpc`, transformer: superjson })],
  });
  return {
    client,
    close: () =>
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

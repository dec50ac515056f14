// SPDX-License-Identifier: PolyForm-Shield-1.0
// Auth.js (next-auth v4) served by cortex: sign-in with a password, GitHub or Google, and sessions that end at once.

import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Account, AccountStore, AuthStore } from "@helexa/db";
import type { Logger } from "@helexa/log";
import { signInInputSchema } from "@helexa/protocol";
import nextAuthModule, { type NextAuthOptions } from "next-auth";
import { getToken } from "next-auth/jwt";
import credentialsModule from "next-auth/providers/credentials";
import githubModule from "next-auth/providers/github";
import googleModule from "next-auth/providers/google";
import type { PasswordHasher } from "./password-hasher.js";

// next-auth is CommonJS compiled from ES modules: under Node's ESM loader (and TypeScript's NodeNext) a
// default import is its module object, and the function is that object's own `default`.
const NextAuth = nextAuthModule.default;
const Credentials = credentialsModule.default;
const GitHub = githubModule.default;
const Google = googleModule.default;

export interface PortalSession {
  sessionId: string;
  publicId: string;
  account: Account;
}

export interface SignInLimits {
  /** Failed attempts for one email within the window before its sign-in is refused. */
  perEmail: number;
  /** Failed attempts from one address within the window, across emails. */
  perAddress: number;
  windowMs: number;
}

export const defaultSignInLimits: SignInLimits = { perEmail: 5, perAddress: 30, windowMs: 15 * 60_000 };

export interface PortalAuthOptions {
  accounts: AccountStore;
  auth: AuthStore;
  passwords: PasswordHasher;
  /** Signs and encrypts the session cookie; the same on every cortex serving this portal. */
  secret: string;
  /** The portal's public origin, e.g. http://127.0.0.1:8091; cookies are Secure when it is https. */
  portalUrl: string;
  github?: { clientId: string; clientSecret: string };
  google?: { clientId: string; clientSecret: string };
  signInLimits?: SignInLimits;
  sessionTtlMs?: number;
  log: Logger;
}

export interface PortalAuth {
  /** Serves /api/auth/* (next-auth's routes: csrf, providers, signin, callback, session, signout). */
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void>;
  /** The caller's live session: null without a cookie, or when its session was ended or its account suspended. */
  sessionOf(request: IncomingMessage): Promise<PortalSession | null>;
  readonly oauthProviders: readonly ("github" | "google")[];
}

/** Set by cortex on the request handed to next-auth, never taken from the client. */
const addressHeader = "x-helexa-client-address";

/** The request next-auth is handling, for callbacks that are not given it (the session's browser and address). */
const currentRequest = new AsyncLocalStorage<{ userAgent: string | null; address: string }>();

export class SignInRefusedError extends Error {
  override readonly name = "SignInRefusedError";
}

export function createPortalAuth(options: PortalAuthOptions): PortalAuth {
  const { accounts, auth, passwords, log } = options;
  const limits = options.signInLimits ?? defaultSignInLimits;
  const sessionTtlMs = options.sessionTtlMs ?? 30 * 86_400_000;
  const secureCookies = options.portalUrl.startsWith("https://");
  // next-auth v4 takes its own origin (for redirects and callback URLs) from this variable alone; the
  // portal's configured address is the truth, so it is written here rather than asked of the operator.
  process.env.NEXTAUTH_URL = options.portalUrl;
  const oauthProviders: ("github" | "google")[] = [];
  if (options.github) oauthProviders.push("github");
  if (options.google) oauthProviders.push("google");

  async function authorize(
    credentials: Record<string, string> | undefined,
    address: string,
  ): Promise<Account | null> {
    const parsed = signInInputSchema.safeParse(credentials ?? {});
    if (!parsed.success) return null;
    const { email, password } = parsed.data;
    // The attempt counts as failed until the password checks out, so guesses sent at once all count:
    // each one's count includes itself and every attempt recorded before it.
    const attempt = await auth.recordSignInAttempt({ email, address, succeeded: false });
    const since = new Date(Date.now() - limits.windowMs);
    const [byEmail, byAddress] = await Promise.all([
      auth.countFailedSignIns({ email, since }),
      auth.countFailedSignIns({ address, since }),
    ]);
    if (byEmail > limits.perEmail || byAddress > limits.perAddress) {
      log.warn("auth.sign_in_rate_limited", { email, address, byEmail, byAddress });
      throw new SignInRefusedError("too many sign-in attempts: wait a few minutes and try again");
    }
    const account = await accounts.findAccountByEmail(email);
    // The hash is checked even without an account, so timing does not tell which emails exist.
    const ok = await passwords.verify(account?.passwordHash ?? unusableHash, password);
    const succeeded = ok && account !== null && account.passwordHash !== null && !account.suspendedAt;
    if (succeeded) await auth.markSignInSucceeded(attempt);
    return succeeded ? account : null;
  }

  const providers: NextAuthOptions["providers"] = [
    Credentials({
      id: "credentials",
      name: "Email and password",
      credentials: {
        email: { label: "Email", type: "email" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials, request) {
        const headers = (request.headers ?? {}) as Record<string, string | undefined>;
        const account = await authorize(credentials, headers[addressHeader] ?? "unknown");
        return account ? { id: account.id, email: account.email, name: account.name } : null;
      },
    }),
  ];
  if (options.github)
    providers.push(GitHub({ clientId: options.github.clientId, clientSecret: options.github.clientSecret }));
  if (options.google)
    providers.push(Google({ clientId: options.google.clientId, clientSecret: options.google.clientSecret }));

  const nextAuthOptions: NextAuthOptions = {
    secret: options.secret,
    providers,
    // Credentials sign-in needs JWT sessions; the JWT carries a session id checked against the database on
    // every request, so ending a session (sign-out, password change, suspension) takes effect at once.
    session: { strategy: "jwt", maxAge: Math.floor(sessionTtlMs / 1000) },
    useSecureCookies: secureCookies,
    pages: { signIn: "/signin", error: "/signin" },
    logger: {
      error: (code, metadata) => log.error("auth.next_auth_error", { code, metadata: String(metadata) }),
      warn: (code) => log.warn("auth.next_auth_warning", { code }),
      debug: () => {},
    },
    callbacks: {
      async signIn({ user, account, profile }) {
        if (!account || account.provider === "credentials") return true;
        const email = (profile?.email ?? user.email ?? "").trim().toLowerCase();
        if (!email) return "/signin?error=OAuthNoEmail";
        const linked = await auth.findOrCreateOAuthAccount({
          provider: account.provider,
          providerAccountId: account.providerAccountId,
          email,
          name: user.name ?? email,
        });
        if (linked.suspendedAt) return "/signin?error=Suspended";
        // The jwt callback below reads our account id from here.
        user.id = linked.id;
        return true;
      },
      async jwt({ token, user }) {
        if (user) {
          const request = currentRequest.getStore();
          const session = await auth.createSession({
            accountId: user.id,
            userAgent: request?.userAgent?.slice(0, 300) ?? null,
            address: request?.address ?? null,
            ttlMs: sessionTtlMs,
          });
          token.sub = user.id;
          token.sid = session.id;
        }
        return token;
      },
      session({ session, token }) {
        return { ...session, user: { ...session.user, id: token.sub } } as typeof session;
      },
    },
    events: {
      async signOut({ token }) {
        if (typeof token?.sid === "string") await auth.endSession(token.sid);
      },
    },
  };

  return {
    oauthProviders,

    async handle(request, response, url) {
      const segments = url.pathname
        .replace(/^\/api\/auth\/?/, "")
        .split("/")
        .filter(Boolean);
      const body = request.method === "POST" ? await readForm(request) : undefined;
      const headers = { ...request.headers, [addressHeader]: clientAddress(request) };
      const query: Record<string, string | string[]> = Object.fromEntries(url.searchParams);
      query.nextauth = segments;
      const shim = responseShim(response);
      const context = { userAgent: request.headers["user-agent"] ?? null, address: clientAddress(request) };
      await currentRequest.run(context, () =>
        NextAuth(
          {
            query,
            body,
            cookies: parseCookies(request.headers.cookie),
            headers,
            method: request.method,
          } as never,
          shim as never,
          nextAuthOptions,
        ),
      );
    },

    async sessionOf(request) {
      const cookie = request.headers.cookie;
      if (!cookie) return null;
      const token = await getToken({
        req: { headers: { cookie }, cookies: parseCookies(cookie) } as never,
        secret: options.secret,
        secureCookie: secureCookies,
      });
      if (!token || typeof token.sid !== "string") return null;
      const active = await auth.getActiveSession(token.sid);
      return active
        ? { sessionId: active.sessionId, publicId: active.publicId, account: active.account }
        : null;
    },
  };
}

/** An argon2id hash of a random password nobody knows, for timing-equal checks of unknown emails. */
const unusableHash =
  "$argon2id$v=19$m=19456,t=2,p=1$oHOG86HwJs2RzA2B+8g7yQ$lJV58JRmh8hoLUtu2N1F2ZtE0/sx6OsrXj+sQQcag5s";

export function clientAddress(request: IncomingMessage): string {
  return request.socket.remoteAddress ?? "unknown";
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

const maxFormBytes = 64 * 1024;

async function readForm(request: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxFormBytes) throw new SignInRefusedError("request body too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const type = request.headers["content-type"] ?? "";
  if (type.includes("application/json")) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** The little of Next's API response that next-auth's handler uses, over a plain Node response. */
function responseShim(response: ServerResponse) {
  const shim = {
    status(code: number) {
      response.statusCode = code;
      return shim;
    },
    setHeader(name: string, value: string | string[]) {
      response.setHeader(name, value);
      return shim;
    },
    getHeader: (name: string) => response.getHeader(name),
    json(value: unknown) {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(value));
    },
    send(body: unknown) {
      if (body !== null && typeof body === "object" && !Buffer.isBuffer(body)) return shim.json(body);
      response.end(body === undefined ? undefined : String(body));
    },
    end: () => response.end(),
  };
  return shim;
}

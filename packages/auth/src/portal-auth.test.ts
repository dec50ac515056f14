// SPDX-License-Identifier: PolyForm-Shield-1.0
// Auth.js served over a real HTTP server: password sign-in, sign-out that ends the session, rate limits, suspension.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Account,
  type AccountStore,
  type AuthStore,
  createAccountStore,
  createAuthStore,
} from "@helexa/db";
import { createPgliteTestDatabase, type TestDatabase } from "@helexa/db/test";
import { createLogger } from "@helexa/log";
import type { PasswordHasher } from "./password-hasher.js";
import { createPasswordHasher } from "./password-hasher.js";
import { createPortalAuth, type PortalAuth, type SignInLimits } from "./portal-auth.js";

const password = "correct horse battery";
const secret = "a test secret of at least thirty-two characters";
const userAgent = "helexa-test-browser/1.0";

/** The portal socket's auth routes, as cortex serves them, plus a route that says who the cookie is. */
async function startPortal(options: {
  accounts: AccountStore;
  auth: AuthStore;
  signInLimits?: SignInLimits;
  passwords?: PasswordHasher;
}): Promise<{ url: string; portalAuth: PortalAuth; server: Server }> {
  let portalAuth: PortalAuth | undefined;
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://portal.invalid");
    const handled = (async () => {
      if (url.pathname.startsWith("/api/auth/")) return portalAuth!.handle(request, response, url);
      if (url.pathname === "/whoami") {
        const session = await portalAuth!.sessionOf(request);
        response.setHeader("content-type", "application/json");
        response.end(
          JSON.stringify(session ? { accountId: session.account.id, email: session.account.email } : null),
        );
        return;
      }
      response.statusCode = 404;
      response.end();
    })();
    handled.catch((error: unknown) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  portalAuth = createPortalAuth({
    accounts: options.accounts,
    auth: options.auth,
    passwords: options.passwords ?? createPasswordHasher(),
    secret,
    portalUrl: url,
    ...(options.signInLimits ? { signInLimits: options.signInLimits } : {}),
    log: createLogger({ level: "silent" }),
  });
  return { url, portalAuth, server };
}

/** A browser's cookies for one origin: what Set-Cookie sets, deletes and replaces. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly origin: string) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("user-agent", userAgent);
    if (this.cookies.size > 0) headers.set("cookie", this.cookieHeader);
    const response = await fetch(`${this.origin}${path}`, { ...init, headers, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const index = pair.indexOf("=");
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = "", val = ""] = attribute.split("=").map((part) => part.trim());
        if (key.toLowerCase() === "max-age") return Number(val) <= 0;
        if (key.toLowerCase() === "expires") return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  async csrfToken(): Promise<string> {
    const response = await this.fetch("/api/auth/csrf");
    assert.equal(response.status, 200);
    const { csrfToken } = (await response.json()) as { csrfToken: string };
    assert.ok(csrfToken);
    return csrfToken;
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    return this.fetch(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Signs in as the portal's page does (next-auth/react's signIn with redirect: false). */
  async signIn(email: string, pass: string): Promise<{ status: number; url: string }> {
    const csrfToken = await this.csrfToken();
    const response = await this.post("/api/auth/callback/credentials", {
      csrfToken,
      email,
      password: pass,
      callbackUrl: `${this.origin}/dashboard`,
      json: "true",
    });
    const body = (await response.json()) as { url: string };
    return { status: response.status, url: body.url };
  }

  async signOut(): Promise<Response> {
    const csrfToken = await this.csrfToken();
    return this.post("/api/auth/signout", { csrfToken, callbackUrl: `${this.origin}/`, json: "true" });
  }

  async whoami(cookie?: string): Promise<{ accountId: string; email: string } | null> {
    const response = await fetch(`${this.origin}/whoami`, {
      headers: { cookie: cookie ?? this.cookieHeader },
    });
    return (await response.json()) as { accountId: string; email: string } | null;
  }

  get sessionCookie(): string | undefined {
    const value = this.cookies.get("next-auth.session-token");
    return value === undefined ? undefined : `next-auth.session-token=${value}`;
  }
}

describe("createPortalAuth over HTTP", () => {
  let database: TestDatabase;
  let accounts: AccountStore;
  let auth: AuthStore;
  let portal: Awaited<ReturnType<typeof startPortal>>;
  // Long enough for six sign-ins under load, short enough to wait out.
  const windowMs = 3_000;

  async function createAccount(email: string): Promise<Account> {
    return accounts.createAccount({
      email,
      name: email,
      passwordHash: await createPasswordHasher().hash(password),
    });
  }

  before(async () => {
    database = await createPgliteTestDatabase();
    accounts = createAccountStore({ db: database.db });
    auth = createAuthStore({ db: database.db });
    portal = await startPortal({
      accounts,
      auth,
      signInLimits: { perEmail: 5, perAddress: 1_000, windowMs },
    });
  });
  after(async () => {
    portal.server.closeAllConnections();
    await new Promise((resolve) => portal.server.close(resolve));
    await database.close();
  });

  it("signs in with the right password, and the session cookie names the account", async () => {
    const ada = await createAccount("ada@example.com");
    const browser = new Browser(portal.url);
    assert.equal(await browser.whoami(), null);
    const result = await browser.signIn("ADA@example.com", password);
    assert.equal(result.status, 200);
    assert.equal(result.url, `${portal.url}/dashboard`, "redirects within the portal's own origin");
    assert.ok(browser.sessionCookie, `a session cookie is set: ${[...browser.cookies.keys()].join(", ")}`);
    assert.deepEqual(await browser.whoami(), { accountId: ada.id, email: "ada@example.com" });
    const sessions = await auth.listSessions(ada.id);
    assert.equal(sessions.length, 1, "the session is a row in the database");
    assert.equal(sessions[0]?.userAgent, userAgent, "the session list shows the browser");
    assert.equal(sessions[0]?.address, "127.0.0.1");
  });

  it("sign-out clears the cookie and ends the session on the server: the old cookie is refused", async () => {
    const bea = await createAccount("bea@example.com");
    const browser = new Browser(portal.url);
    await browser.signIn("bea@example.com", password);
    const oldCookie = browser.sessionCookie;
    assert.ok(oldCookie);
    assert.equal((await browser.whoami())?.accountId, bea.id);

    const response = await browser.signOut();
    assert.equal(response.status, 200);
    assert.equal(browser.sessionCookie, undefined, "the browser dropped the cookie");
    assert.equal(await browser.whoami(), null);
    assert.equal(await browser.whoami(oldCookie), null, "a copy of the old cookie is worthless");
    assert.deepEqual(await auth.listSessions(bea.id), []);
  });

  it("a wrong password sets no session cookie", async () => {
    await createAccount("cy@example.com");
    const browser = new Browser(portal.url);
    const result = await browser.signIn("cy@example.com", "not the password");
    assert.equal(result.status, 401);
    assert.match(result.url, /error=CredentialsSignin/);
    assert.equal(browser.sessionCookie, undefined);
    assert.equal(await browser.whoami(), null);
    const unknown = await new Browser(portal.url).signIn("nobody@example.com", password);
    assert.equal(unknown.status, 401);
  });

  it("after five failures for an email even the right password is refused, until the window passes", async () => {
    const dee = await createAccount("dee@example.com");
    const browser = new Browser(portal.url);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      assert.equal((await browser.signIn("dee@example.com", `guess ${attempt}`)).status, 401);
    }
    const refused = await browser.signIn("dee@example.com", password);
    assert.equal(refused.status, 401);
    assert.equal(browser.sessionCookie, undefined, "the right password is refused while limited");
    // The limit is per email: another account from the same address signs in.
    await createAccount("eve@example.com");
    const other = new Browser(portal.url);
    assert.equal((await other.signIn("eve@example.com", password)).status, 200);
    assert.ok(other.sessionCookie);

    await sleep(windowMs + 200);
    const recovered = await browser.signIn("dee@example.com", password);
    assert.equal(recovered.status, 200);
    assert.equal((await browser.whoami())?.accountId, dee.id);
  });

  it("a suspended account cannot sign in", async () => {
    const fay = await createAccount("fay@example.com");
    await accounts.setSuspended({ accountId: fay.id, suspended: true });
    const browser = new Browser(portal.url);
    assert.equal((await browser.signIn("fay@example.com", password)).status, 401);
    assert.equal(browser.sessionCookie, undefined);
  });

  it("ending the account's sessions in the store refuses a valid cookie at once", async () => {
    const gus = await createAccount("gus@example.com");
    const browser = new Browser(portal.url);
    await browser.signIn("gus@example.com", password);
    assert.equal((await browser.whoami())?.accountId, gus.id);
    assert.equal(await auth.endAccountSessions({ accountId: gus.id }), 1);
    assert.equal(await browser.whoami(), null);
  });

  it("suspending a signed-in account refuses its cookie at once", async () => {
    const hal = await createAccount("hal@example.com");
    const browser = new Browser(portal.url);
    await browser.signIn("hal@example.com", password);
    assert.equal((await browser.whoami())?.accountId, hal.id);
    await accounts.setSuspended({ accountId: hal.id, suspended: true });
    assert.equal(await browser.whoami(), null);
  });

  it("refuses a sign-in without the CSRF token", async () => {
    await createAccount("ivy@example.com");
    const browser = new Browser(portal.url);
    await browser.csrfToken();
    const response = await browser.post("/api/auth/callback/credentials", {
      csrfToken: "forged",
      email: "ivy@example.com",
      password,
      json: "true",
    });
    assert.equal(browser.sessionCookie, undefined);
    // next-auth answers a bad token by sending the browser back to its sign-in page.
    const { url } = (await response.json()) as { url: string };
    assert.equal(url, `${portal.url}/api/auth/signin?csrf=true`);
    assert.equal(await browser.whoami(), null);
    assert.deepEqual(await auth.listSessions((await accounts.findAccountByEmail("ivy@example.com"))!.id), []);
  });

  it("ignores a tampered session cookie", async () => {
    const jay = await createAccount("jay@example.com");
    const browser = new Browser(portal.url);
    await browser.signIn("jay@example.com", password);
    assert.equal((await browser.whoami())?.accountId, jay.id);
    const [name, value = ""] = browser.sessionCookie!.split("=");
    // Flip one character of the encrypted token.
    const flipped = value.slice(0, 20) + (value[20] === "A" ? "B" : "A") + value.slice(21);
    assert.equal(await browser.whoami(`${name}=${flipped}`), null);
  });
  it("guesses sent at once all count: twenty wrong passwords together get at most five checks", async () => {
    await createAccount("cal@example.com");
    const real = createPasswordHasher();
    let checks = 0;
    const counting: PasswordHasher = {
      hash: (text) => real.hash(text),
      verify: (hash, text) => {
        checks++;
        return real.verify(hash, text);
      },
    };
    const racing = await startPortal({
      accounts,
      auth,
      passwords: counting,
      signInLimits: { perEmail: 5, perAddress: 1_000, windowMs: 60_000 },
    });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => new Browser(racing.url).signIn("cal@example.com", "a wrong guess")),
      );
      assert.ok(
        results.every((result) => result.url.includes("error")),
        "every guess fails",
      );
      assert.ok(checks <= 5, `${checks} passwords were checked; the limit is 5`);
      const late = await new Browser(racing.url).signIn("cal@example.com", password);
      assert.ok(late.url.includes("error"), "the right password is refused while the limit holds");
    } finally {
      racing.server.closeAllConnections();
      await new Promise((resolve) => racing.server.close(resolve));
    }
  });
});

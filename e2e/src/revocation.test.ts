// SPDX-License-Identifier: PolyForm-Shield-1.0
// Two cortex nodes on one PostgreSQL: a neuron revoked, rotated or suspended through one leaves the other at once.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import {
  createAccountStore,
  createApiKeyStore,
  createModelCatalog,
  createNeuronStore,
  type Database,
  Ledger,
  openDatabase,
} from "@helexa/db";
import { createEmptyPostgresDatabase, testEnvironment, withListenOutage } from "@helexa/db/test";
import { PROTOCOL_VERSION } from "@helexa/protocol";
import OpenAI from "openai";
import WebSocket from "ws";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { findPostgres } from "./__fixtures__/shared-postgres.js";

interface OnlineNeuron {
  id: string;
  ready: boolean;
}

interface SessionMessage {
  type: string;
  error?: { code: string; message: string };
}

/** A neuron's WebSocket without the neuron: hello, welcome, heartbeats, and how it ends. */
interface RawSession {
  /** The first message cortex sent: welcome, or the error that refused the token. */
  first: Promise<SessionMessage>;
  /** Every message cortex sent, the first included. */
  messages: SessionMessage[];
  closed: Promise<{ code: number; reason: string; at: number }>;
  socket: WebSocket;
}

function dial(orchestratorUrl: string, token: string): RawSession {
  const socket = new WebSocket(orchestratorUrl);
  const messages: SessionMessage[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  const first = new Promise<SessionMessage>((resolve, reject) => {
    socket.once("error", reject);
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString()) as SessionMessage;
      messages.push(message);
      if (message.type === "welcome") {
        // Three missed heartbeats would close it for another reason than the one under test.
        heartbeat = setInterval(
          () => socket.send(JSON.stringify({ type: "heartbeat", sentAt: Date.now() })),
          1_000,
        );
      }
      resolve(message);
    });
  });
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.once("close", (code, reason) => {
      clearInterval(heartbeat);
      resolve({ code, reason: reason.toString(), at: performance.now() });
    }),
  );
  socket.once("open", () =>
    socket.send(
      JSON.stringify({
        type: "hello",
        protocol: PROTOCOL_VERSION,
        role: "neuron",
        token,
        name: "raw e2e session",
        software: "e2e",
      }),
    ),
  );
  return { first, messages, closed, socket };
}

/** The portal's tRPC over plain HTTP, as its pages call it (superjson's envelope around plain JSON). */
async function trpc<Output>(options: {
  portalUrl: string;
  cookie: string;
  path: string;
  input?: unknown;
  kind?: "query" | "mutation";
}): Promise<Output> {
  const url = `${options.portalUrl}/api/trpc/${options.path}`;
  const response =
    options.kind === "query"
      ? await fetch(url, { headers: { cookie: options.cookie } })
      : await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", cookie: options.cookie },
          body: JSON.stringify({ json: options.input ?? null }),
        });
  const body = (await response.json()) as { result?: { data: { json: Output } }; error?: unknown };
  if (!response.ok || !body.result) {
    throw new Error(`${options.path} answered ${response.status}: ${JSON.stringify(body.error)}`);
  }
  return body.result.data.json;
}

async function signUpAndSignIn(portalUrl: string): Promise<string> {
  const email = "operator@example.com";
  const password = "revocation e2e password";
  await trpc({ portalUrl, cookie: "", path: "account.signUp", input: { email, name: "operator", password } });
  const jar = new Map<string, string>();
  const keep = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...rest] = (pair ?? "").split("=");
      if (name) jar.set(name.trim(), rest.join("="));
    }
  };
  const cookie = () => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  const csrf = await fetch(`${portalUrl}/api/auth/csrf`);
  keep(csrf);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const signIn = await fetch(`${portalUrl}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie() },
    body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
    redirect: "manual",
  });
  keep(signIn);
  assert.ok(
    [...jar.keys()].some((name) => name.endsWith("next-auth.session-token")),
    `sign-in set no session cookie (${signIn.status})`,
  );
  return cookie();
}

describe("two cortex nodes on one PostgreSQL: a revocation through one reaches the other at once", () => {
  let skipReason: string | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl = "";
  let adminUrl = "";
  let database: Database;
  let home: string;
  let modelPath: string;
  let cortexA: HelexaProcess;
  let cortexB: HelexaProcess;
  let neuron: HelexaProcess | undefined;
  let portalUrl = "";
  let orchestratorA = "";
  let orchestratorB = "";
  let controlUrl = "";
  let client: OpenAI;
  let cookie = "";
  let operatorAccountId = "";
  let served: { id: string; token: string };

  const skipped = (context: TestContext) => {
    if (skipReason) context.skip(skipReason);
    return skipReason !== undefined;
  };

  async function onlineOn(orchestratorUrl: string): Promise<OnlineNeuron[]> {
    const response = await fetch(`${orchestratorUrl.replace("ws:", "http:")}/health`);
    return ((await response.json()) as { neurons: OnlineNeuron[] }).neurons;
  }

  before(async () => {
    const postgres = await findPostgres();
    if ("unreachable" in postgres) {
      if (testEnvironment.isContinuousIntegration)
        throw new Error(`${postgres.unreachable} (required on CI)`);
      skipReason = postgres.unreachable;
      return;
    }
    const empty = await createEmptyPostgresDatabase({ adminUrl: postgres.adminUrl });
    dropDatabase = empty.drop;
    databaseUrl = empty.url;
    adminUrl = postgres.adminUrl;
    ({ home, modelPath } = await makeTestWorkspace());
    // Migrated here first, so the two cortex processes start on a ready schema.
    database = await openDatabase({ url: empty.url });

    const [orchestrator1, portal, orchestrator2, gateway] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const shared = ["--database-url", empty.url, "--ice-bind-address", "127.0.0.1"];
    cortexA = new HelexaProcess(
      [
        "cortex",
        ...["--home", join(home, "a"), ...shared],
        ...["--orchestrator-socket", `127.0.0.1:${orchestrator1}`, "--portal-socket", `127.0.0.1:${portal}`],
      ],
      { HELEXA_PORTAL_AUTH_SECRET: "revocation-e2e-secret-of-at-least-32-characters" },
    );
    cortexB = new HelexaProcess(
      [
        "cortex",
        ...["--home", join(home, "b"), ...shared],
        ...[
          "--orchestrator-socket",
          `127.0.0.1:${orchestrator2}`,
          "--gateway-socket",
          `127.0.0.1:${gateway}`,
        ],
      ],
      { HELEXA_LOG_LEVEL: "info", HELEXA_LOG_JSON: "true" },
    );
    orchestratorA = (await cortexA.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/))[1] ?? "";
    portalUrl = (await cortexA.waitForOutput(/portal\s+(http:\/\/\S+)/))[1] ?? "";
    orchestratorB = (await cortexB.waitForOutput(/orchestrator\s+(ws:\/\/\S+)/))[1] ?? "";

    // The operator signs up in A's portal (the first account: the admin) and registers a neuron there.
    cookie = await signUpAndSignIn(portalUrl);
    operatorAccountId = (await trpc<{ id: string }>({ portalUrl, cookie, path: "account.me", kind: "query" }))
      .id;
    served = await trpc<{ id: string; token: string }>({
      portalUrl,
      cookie,
      path: "operator.register",
      input: { name: "served by B" },
    });
    // What buying credit and making a key in the portal would leave: a key with credit, a price.
    const { key } = await createApiKeyStore({ db: database.db }).createApiKey({
      accountId: operatorAccountId,
      name: "revocation e2e",
    });
    await using ledger = new Ledger({ db: database.db });
    await ledger.grantCredits({
      accountId: operatorAccountId,
      amount: 5_000_000,
      idempotencyKey: "e2e-grant",
    });
    await createModelCatalog({ db: database.db }).upsertModel({
      id: TEST_MODEL_ID,
      contextLength: 2048,
      pricePromptPerMillion: 40_000,
      priceCompletionPerMillion: 90_000,
    });
    client = new OpenAI({ apiKey: key, baseURL: `http://127.0.0.1:${gateway}/v1`, maxRetries: 0 });

    const [control, api] = await Promise.all([freePort(), freePort()]);
    controlUrl = `http://127.0.0.1:${control}`;
    neuron = new HelexaProcess(
      [
        "neuron",
        ...["--cortex", orchestratorB, "--token", served.token, "--name", "served by B"],
        ...["--model", modelPath, "--models-dir", join(home, "models"), "--threads", "1", "--gpu", "off"],
        ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
        ...["--ice-bind-address", "127.0.0.1"],
      ],
      { HELEXA_LOG_LEVEL: "info", HELEXA_LOG_JSON: "true" },
    );
    await neuron.waitForOutput(/ serving /);
    await waitUntil(
      async () => (await onlineOn(orchestratorB)).some((online) => online.id === served.id && online.ready),
      15_000,
      "the neuron to join cortex B",
    );
  });

  after(async () => {
    await neuron?.stop("SIGKILL");
    await cortexA?.stop("SIGKILL");
    await cortexB?.stop("SIGKILL");
    await database?.close();
    await dropDatabase?.();
  });

  function jsonLines(process: HelexaProcess): Array<Record<string, unknown>> {
    return process.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  test("the neuron on cortex B serves B's gateway", async (context) => {
    if (skipped(context)) return;
    const { data, response } = await client.chat.completions
      .create({ model: TEST_MODEL_ID, messages: [{ role: "user", content: "hello" }], max_tokens: 4 })
      .withResponse();
    assert.equal(data.usage?.completion_tokens, 4);
    assert.equal(response.headers.get("x-helexa-neuron"), served.id);
  });

  test("revoked in cortex A's portal: its session on B closes within a second with a typed error, and B answers 503", async (context) => {
    if (skipped(context)) return;
    assert.ok(neuron);
    // Watched as tightly as B answers, from before the revocation is sent.
    let goneAt: number | null = null;
    const watching = (async () => {
      const deadline = performance.now() + 5_000;
      while (performance.now() < deadline) {
        if (!(await onlineOn(orchestratorB)).some((online) => online.id === served.id)) {
          goneAt = performance.now();
          return;
        }
      }
    })();
    const sentAt = performance.now();
    const answer = await trpc<{ revoked: boolean }>({
      portalUrl,
      cookie,
      path: "operator.revoke",
      input: { id: served.id },
    });
    const answeredAt = performance.now();
    assert.deepEqual(answer, { revoked: true });
    await watching;
    assert.ok(goneAt !== null, "the neuron left cortex B");
    const revokeToGoneMs = (goneAt as number) - sentAt;
    context.diagnostic(
      `revoke sent → neuron gone from B: ${revokeToGoneMs.toFixed(1)} ms (A's portal answered after ${(answeredAt - sentAt).toFixed(1)} ms)`,
    );
    assert.ok(revokeToGoneMs < 1_000, `gone after ${revokeToGoneMs.toFixed(0)} ms`);

    const revokedLine = jsonLines(cortexB).find((line) => line.event === "neuron.revoked");
    assert.equal(revokedLine?.neuronId, served.id);
    assert.equal(revokedLine?.reason, "revoked");
    await waitUntil(
      () => jsonLines(neuron as HelexaProcess).some((line) => line.event === "cortex.rejected"),
      5_000,
      "the neuron to log its rejection",
    );
    const told = jsonLines(neuron).find((line) => line.event === "cortex.error");
    assert.equal(told?.code, "unauthenticated");
    assert.match(String(told?.message), /token was revoked/);

    await assert.rejects(
      client.chat.completions.create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 4,
      }),
      (error: unknown) =>
        error instanceof OpenAI.APIError && error.status === 503 && error.code === "no_capacity",
    );
  });

  test("the revoked neuron stops dialling, and its token is refused by either cortex", async (context) => {
    if (skipped(context)) return;
    const status = (await (await fetch(`${controlUrl}/status`)).json()) as { state: string };
    assert.equal(status.state, "rejected");
    for (const orchestratorUrl of [orchestratorB, orchestratorA]) {
      const session = dial(orchestratorUrl, served.token);
      const first = await session.first;
      assert.equal(first.type, "error");
      assert.equal(first.error?.code, "unauthenticated");
      assert.equal((await session.closed).code, 4001);
    }
    assert.equal((await onlineOn(orchestratorB)).length, 0);
  });

  test("an operator suspended in A's admin page: its neuron's session on B closes within a second", async (context) => {
    if (skipped(context)) return;
    const accounts = createAccountStore({ db: database.db });
    const suspended = await accounts.createAccount({ name: "an operator about to be suspended" });
    await using neurons = createNeuronStore({ db: database.db });
    const { token } = await neurons.registerNeuron({
      accountId: suspended.id,
      name: "of a suspended operator",
    });
    // Still joining (welcomed, no data channel yet): the sessions a revocation must not miss either.
    const session = dial(orchestratorB, token);
    assert.equal((await session.first).type, "welcome");

    const sentAt = performance.now();
    await trpc({
      portalUrl,
      cookie,
      path: "admin.setSuspended",
      input: { accountId: suspended.id, suspended: true },
    });
    const closed = await session.closed;
    context.diagnostic(`suspension sent → session on B closed: ${(closed.at - sentAt).toFixed(1)} ms`);
    assert.equal(closed.code, 4001);
    assert.ok(closed.at - sentAt < 1_000);
    const error = session.messages.find((message) => message.type === "error")?.error;
    assert.equal(error?.code, "unauthenticated");
    assert.match(error?.message ?? "", /operator account is suspended/);
  });

  test("a rotated token closes the session it opened on B; the new token is admitted", async (context) => {
    if (skipped(context)) return;
    await using neurons = createNeuronStore({ db: database.db });
    const { neuronId, token } = await neurons.registerNeuron({
      accountId: operatorAccountId,
      name: "rotated",
    });
    const session = dial(orchestratorB, token);
    assert.equal((await session.first).type, "welcome");
    const sentAt = performance.now();
    const rotated = await neurons.rotateNeuronToken({ neuronId, accountId: operatorAccountId });
    assert.ok(rotated);
    const closed = await session.closed;
    context.diagnostic(`rotation committed → session on B closed: ${(closed.at - sentAt).toFixed(1)} ms`);
    assert.equal(closed.code, 4001);
    assert.match(
      session.messages.find((message) => message.type === "error")?.error?.message ?? "",
      /replaced/,
    );

    const again = dial(orchestratorB, rotated.token);
    assert.equal((await again.first).type, "welcome");
    again.socket.close();
    await again.closed;
  });

  test("a revocation made while B's LISTEN connection was down is found when it comes back", async (context) => {
    if (skipped(context)) return;
    await using neurons = createNeuronStore({ db: database.db });
    const { neuronId, token } = await neurons.registerNeuron({
      accountId: operatorAccountId,
      name: "missed",
    });
    const session = dial(orchestratorB, token);
    assert.equal((await session.first).type, "welcome");
    let closedAt: number | null = null;
    void session.closed.then((closed) => {
      closedAt = closed.at;
    });

    // The listeners' connections (A's and B's) drop, and cannot come back until the outage ends.
    await withListenOutage({ url: databaseUrl, adminUrl }, async () => {
      assert.equal(await neurons.revokeNeuron({ neuronId }), true);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(closedAt, null, "nobody heard the revocation: the session is still open");
    });
    const allowedAt = performance.now();
    const closed = await session.closed;
    context.diagnostic(
      `connections allowed again → missed revocation found on B: ${(closed.at - allowedAt).toFixed(1)} ms`,
    );
    assert.equal(closed.code, 4001);
    assert.ok(closed.at - allowedAt < 10_000);
    const events = jsonLines(cortexB).map((line) => line.event);
    assert.ok(events.includes("neuron.revocations_missed"));
    assert.ok(events.includes("neuron.revocations_rechecked"));
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal as people use it, in Chromium against `helexa up`: sign up, buy, chat, keys, usage, operate a neuron.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type SmtpInbox, startSmtpInbox } from "@helexa/auth/test";
import { checkLedgerIntegrity, openDatabase } from "@helexa/db";
import OpenAI from "openai";
import type { Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "./__fixtures__/chromium.js";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, startUp, waitUntil } from "./__fixtures__/helexa-process.js";

/** Screenshots of each page, kept after the run (CI keeps e2e/artifacts). */
const artifacts = fileURLToPath(new URL("../../artifacts/portal/", import.meta.url));
/** The operator's own neuron serves the model under another name, so its jobs go to it alone. */
const OPERATOR_MODEL_ID = "helexa-tiny-operator";

describe("the portal", { skip: chromiumMissing() }, () => {
  let fabric: HelexaProcess;
  let operatorNeuron: HelexaProcess | null = null;
  let home: string;
  let modelPath: string;
  let portalUrl: string;
  let gatewayUrl: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let inbox: SmtpInbox;
  const person = { name: "Ada Lovelace", email: "ada@example.com", password: "correct horse battery" };

  before(async () => {
    await mkdir(artifacts, { recursive: true });
    ({ home, modelPath } = await makeTestWorkspace());
    inbox = await startSmtpInbox();
    ({ fabric, portalUrl, gatewayUrl } = await startUp({
      home,
      modelPath,
      // Mail goes to a local SMTP server; GitHub sign-in is offered (its servers are out of reach here).
      environment: {
        SMTP_URL: inbox.url,
        GITHUB_ID: "e2e-github-client",
        GITHUB_SECRET: "e2e-github-secret",
      },
    }));
    browser = await launchChromium();
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
  });

  after(async () => {
    await browser?.[Symbol.asyncDispose]();
    await inbox?.[Symbol.asyncDispose]();
    await operatorNeuron?.stop("SIGKILL");
    await fabric?.stop("SIGINT");
    // The books balance after everything the people in this file did.
    const database = await openDatabase({ dataDir: join(home, "db") });
    try {
      assert.deepEqual(await checkLedgerIntegrity({ db: database.db }), {
        unbalancedTransactions: 0,
        mismatchedBalances: 0,
      });
    } finally {
      await database.close();
    }
  });

  const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

  test("the landing page shows live counts", async () => {
    await page.goto(portalUrl);
    await page
      .getByText(/neurons online/i)
      .first()
      .waitFor();
    await shot("landing");
  });

  test("a new person signs up and lands signed in", async () => {
    await page.goto(`${portalUrl}/signup`);
    await page.getByLabel(/name/i).first().fill(person.name);
    await page.getByLabel(/email/i).fill(person.email);
    await page
      .getByLabel(/password/i)
      .first()
      .fill(person.password);
    await shot("signup");
    await page.getByRole("button", { name: /sign up|create account/i }).click();
    await page.waitForURL(/\/chat/);
    await shot("chat-empty");
  });

  test("the verification mail comes over SMTP and its link verifies the email", async () => {
    await waitUntil(
      () => inbox.received.some((mail) => mail.to.includes(person.email)),
      20_000,
      "the verification mail",
    );
    const mail = inbox.received.find((candidate) => candidate.to.includes(person.email));
    const link = /(http:\/\/\S+\/verify-email\?token=[\w-]+)/.exec(mail?.text ?? "")?.[1];
    assert.ok(link?.startsWith(portalUrl), `a link to this portal: ${mail?.text}`);
    if (!link) return;
    await page.goto(link);
    await page.getByText(/your email is verified/i).waitFor();
    await shot("email-verified");
    // A link works once.
    await page.goto(link);
    await page.getByText(/expired or was used/i).waitFor();
  });

  test("GitHub sign-in is offered when its keys are set, and goes to GitHub with this install's client id", async () => {
    await using other = await launchChromium();
    const visitor = await other.newPage();
    await visitor.goto(`${portalUrl}/signin`);
    await visitor.getByRole("button", { name: /github/i }).waitFor();
    await visitor.screenshot({ path: join(artifacts, "signin.png"), fullPage: true });
    const toGitHub = visitor.waitForRequest(/^https:\/\/github\.com\/login\/oauth\/authorize/);
    await visitor.getByRole("button", { name: /github/i }).click();
    const request = await toGitHub;
    const url = new URL(request.url());
    assert.equal(url.searchParams.get("client_id"), "e2e-github-client");
    assert.equal(url.searchParams.get("redirect_uri"), `${portalUrl}/api/auth/callback/github`);
  });

  test("buys credits with the dev provider", async () => {
    await page.goto(`${portalUrl}/credits`);
    await page
      .getByText(/no money moves/i)
      .first()
      .waitFor();
    await shot("credits");
    await page.getByTestId("buy-starter").click();
    await page.waitForURL(/dev-checkout/);
    await shot("dev-checkout");
    await page.getByTestId("dev-pay").click();
    await page.waitForURL(/\/credits\?purchase=/);
    await waitUntil(
      async () => /^10(\.0+)?\b/.test((await page.getByTestId("balance-available").textContent()) ?? ""),
      20_000,
      "the balance to show the 10 credits bought",
    );
    await shot("credits-bought");
  });

  test("chats and sees streamed tokens and the reply's cost", async () => {
    await page.goto(`${portalUrl}/chat`);
    await page.getByTestId("model-picker").selectOption(TEST_MODEL_ID);
    await page.getByTestId("chat-input").fill("Hello there, fabric!");
    await page.getByTestId("chat-send").click();
    const reply = page.getByTestId("assistant-message").last();
    // Streamed: the reply grows before it is done.
    await waitUntil(async () => ((await reply.textContent()) ?? "").length > 0, 30_000, "the first tokens");
    await page.getByTestId("reply-cost").last().waitFor();
    const cost = (await page.getByTestId("reply-cost").last().textContent()) ?? "";
    assert.match(cost, /\d/, `the reply shows its cost: ${cost}`);
    await shot("chat");
  });

  test("the stop button ends a reply that is still coming, and the chat goes on", async () => {
    // The neuron is frozen first, so the reply is surely still coming when stop is pressed.
    const neuronPid = Number(
      execFileSync("pgrep", ["-P", String(fabric.child.pid)])
        .toString()
        .trim()
        .split("\n")[0],
    );
    process.kill(neuronPid, "SIGSTOP");
    try {
      await page.getByTestId("chat-input").fill("Tell me a very long story about pooled compute.");
      await page.getByTestId("chat-send").click();
      await page.getByTestId("chat-stop").click();
      await page
        .getByText(/stopped/i)
        .last()
        .waitFor();
      await shot("chat-stopped");
    } finally {
      process.kill(neuronPid, "SIGCONT");
    }
    // The next message is answered as usual.
    const replies = await page.getByTestId("assistant-message").count();
    await page.getByTestId("chat-input").fill("Are you back?");
    await page.getByTestId("chat-send").click();
    await page.getByTestId("reply-cost").nth(replies).waitFor();
  });

  test("someone without credits is told so, with the way to buy more", async () => {
    await using other = await launchChromium();
    const broke = await other.newPage();
    await broke.goto(`${portalUrl}/signup`);
    await broke.getByLabel(/name/i).first().fill("Bob");
    await broke.getByLabel(/email/i).fill("bob@example.com");
    await broke
      .getByLabel(/password/i)
      .first()
      .fill("another long password");
    await broke.getByRole("button", { name: /sign up|create account/i }).click();
    await broke.waitForURL(/\/chat/);
    await broke.getByTestId("model-picker").selectOption(TEST_MODEL_ID);
    await broke.getByTestId("chat-input").fill("Hello?");
    await broke.getByTestId("chat-send").click();
    await broke.getByText(/out of credits/i).waitFor();
    assert.equal(await broke.getByRole("link", { name: /buy credits/i }).getAttribute("href"), "/credits");
    await broke.screenshot({ path: join(artifacts, "chat-out-of-credits.png"), fullPage: true });
  });

  test("a key's rate limit answers 429 with Retry-After, its spend limit 402, in OpenAI's envelope", async () => {
    await page.goto(`${portalUrl}/keys`);
    const create = async (name: string, limits: { spend?: string; rate?: string }) => {
      const previous = (await page.getByTestId("new-key-value").count())
        ? await page.getByTestId("new-key-value").textContent()
        : null;
      await page.getByLabel(/^name/i).fill(name);
      await page.getByLabel(/spend limit/i).fill(limits.spend ?? "");
      await page.getByLabel(/rate limit/i).fill(limits.rate ?? "");
      await page.getByRole("button", { name: /create/i }).click();
      const shownKey = async () =>
        (await page.getByTestId("new-key-value").count())
          ? ((await page.getByTestId("new-key-value").textContent()) ?? "").trim()
          : "";
      await waitUntil(
        async () => {
          const shown = await shownKey();
          return shown.startsWith("sk-hx-") && shown !== previous?.trim();
        },
        10_000,
        `the new key "${name}" to be shown`,
      );
      const key = ((await page.getByTestId("new-key-value").textContent()) ?? "").trim();
      assert.match(key, /^sk-hx-/);
      assert.notEqual(key, previous?.trim());
      return new OpenAI({ apiKey: key, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
    };
    const ask = (client: OpenAI) =>
      client.chat.completions.create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 4,
      });

    const rateLimited = await create("one a minute", { rate: "1" });
    await ask(rateLimited);
    await assert.rejects(ask(rateLimited), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError);
      assert.equal(error.status, 429);
      assert.equal(error.code, "rate_limited");
      assert.ok(Number(error.headers?.get("retry-after")) >= 1, "Retry-After says when to come back");
      return true;
    });

    // A millionth of a credit cannot cover any request's worst case.
    const capped = await create("tiny budget", { spend: "0.000001" });
    await assert.rejects(ask(capped), (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError);
      assert.equal(error.status, 402, `${error.status} ${error.message}`);
      assert.match(error.message, /spend limit/);
      return true;
    });
    await shot("keys-limits");
  });

  let apiKey = "";

  test("creates an API key and uses it with the openai SDK", async () => {
    await page.goto(`${portalUrl}/keys`);
    await page.getByLabel(/name/i).first().fill("e2e key");
    await page.getByRole("button", { name: /create/i }).click();
    apiKey = ((await page.getByTestId("new-key-value").textContent()) ?? "").trim();
    assert.match(apiKey, /^sk-hx-/);
    await shot("keys");
    const client = new OpenAI({ apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: TEST_MODEL_ID,
      messages: [{ role: "user", content: "Count to three." }],
      max_tokens: 12,
    });
    assert.ok((completion.usage?.completion_tokens ?? 0) > 0);
  });

  test("sees that usage on the usage page", async () => {
    await page.goto(`${portalUrl}/usage`);
    const rows = page.getByTestId("usage-row");
    await rows.first().waitFor();
    const text = (await page.getByTestId("usage-table").textContent()) ?? "";
    assert.ok(text.includes(TEST_MODEL_ID), "the model is in the usage table");
    await shot("usage");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("export-csv").click(),
    ]);
    assert.match(download.suggestedFilename(), /^helexa-usage-.*\.csv$/);
    const csv = await readFile((await download.path()) ?? "", "utf8");
    const [header, ...lines] = csv.trim().split("\n");
    assert.equal(header, "day,model,requests,prompt_tokens,completion_tokens,cost_credits");
    assert.ok(
      lines.some((line) => line.includes(`,${TEST_MODEL_ID},`)),
      csv,
    );
  });

  test("revokes the key and the next call gets 401", async () => {
    await page.goto(`${portalUrl}/keys`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByTestId("key-row").filter({ hasText: "e2e key" }).getByTestId("revoke-key").click();
    await page
      .getByTestId("key-row")
      .filter({ hasText: "e2e key" })
      .getByText(/revoked/i)
      .waitFor();
    const client = new OpenAI({ apiKey, baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: TEST_MODEL_ID, messages: [{ role: "user", content: "hi" }] }),
      (error: unknown) => error instanceof OpenAI.APIError && error.status === 401,
    );
  });

  test("an operator registers a neuron, starts it with the shown command, and earns", async () => {
    await page.goto(`${portalUrl}/operator`);
    await page.getByLabel(/name/i).first().fill("ada's neuron");
    await page.getByRole("button", { name: /register/i }).click();
    const command = ((await page.getByTestId("neuron-command").textContent()) ?? "").trim();
    assert.match(command, /^helexa neuron --cortex ws:\/\/\S+ --token nt-hx-\S+/);
    await shot("operator-registered");

    // The shown command as a shell reads it (its quoting is part of what is tested), plus where this
    // machine keeps the model and which ports are free.
    const args = execFileSync("bash", [
      "-c",
      `args() { printf '%s\\0' "$@"; }; args ${command.replace(/^helexa /, "")}`,
    ])
      .toString("utf8")
      .split("\0")
      .slice(0, -1);
    assert.deepEqual(args.slice(-2), ["--name", "ada's neuron"]);
    const operatorModel = join(home, `${OPERATOR_MODEL_ID}.gguf`);
    await copyFile(modelPath, operatorModel);
    const [control, api] = await Promise.all([freePort(), freePort()]);
    operatorNeuron = new HelexaProcess([
      ...args,
      ...["--model", operatorModel, "--threads", "1", "--home", join(home, "operator")],
      ...["--control-socket", `127.0.0.1:${control}`, "--api-socket", `127.0.0.1:${api}`],
      ...["--ice-bind-address", "127.0.0.1"],
    ]);

    const row = page.getByTestId("neuron-row").filter({ hasText: "ada's neuron" });
    const neuron = operatorNeuron;
    await waitUntil(
      async () => ((await row.getByTestId("neuron-status").textContent()) ?? "").includes("online"),
      60_000,
      "the operator's neuron to show online",
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}\nneuron stdout:\n${neuron.stdout}\nneuron stderr:\n${neuron.stderr.slice(-3000)}`,
      );
    });
    const earningsBefore = await page.getByTestId("operator-earnings").textContent();

    // Jobs for the operator's model can only run on the operator's neuron.
    const owner = new OpenAI({ apiKey: await upKey(), baseURL: `${gatewayUrl}/v1`, maxRetries: 0 });
    for (let index = 0; index < 3; index++) {
      await owner.chat.completions.create({
        model: OPERATOR_MODEL_ID,
        messages: [{ role: "user", content: `job ${index}` }],
        max_tokens: 16,
      });
    }
    await waitUntil(
      async () => (await page.getByTestId("operator-earnings").textContent()) !== earningsBefore,
      20_000,
      "the operator's earnings to grow",
    );
    await shot("operator-earning");
  });

  test("the admin (the first person to sign up) sees the catalog and revenue", async () => {
    await page.goto(`${portalUrl}/admin`);
    await page.getByText(TEST_MODEL_ID).first().waitFor();
    await page
      .getByText(/revenue/i)
      .first()
      .waitFor();
    await shot("admin");
  });

  test("pages work at phone width", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    for (const path of ["/", "/chat", "/keys", "/credits", "/usage", "/operator", "/account", "/admin"]) {
      await page.goto(`${portalUrl}${path}`);
      await page.waitForLoadState("networkidle");
      // Runs in the page, where document and window exist; this file's types know only Node.
      const overflow = (await page.evaluate(
        "document.documentElement.scrollWidth - window.innerWidth",
      )) as number;
      assert.ok(overflow <= 1, `${path} scrolls sideways by ${overflow}px at 375px`);
      // Every control a person can type in or pick from has a name a screen reader reads out.
      const unlabelled = (await page.evaluate(
        `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
          .filter((control) => !control.labels?.length && !control.getAttribute("aria-label")
            && !control.getAttribute("aria-labelledby"))
          .map((control) => control.outerHTML.slice(0, 120))`,
      )) as string[];
      assert.deepEqual(unlabelled, [], `${path} has controls without a label`);
      await shot(`phone${path === "/" ? "-landing" : path.replaceAll("/", "-")}`);
    }
  });

  /** The key `helexa up` printed: its account pays for the operator's jobs. */
  async function upKey(): Promise<string> {
    const match = /api key\s+(sk-hx-\S+)/.exec(fabric.stdout);
    assert.ok(match?.[1]);
    return match[1];
  }
});

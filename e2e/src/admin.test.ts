// SPDX-License-Identifier: PolyForm-Shield-1.0
// Admins: `helexa admin create` before the fabric starts, and an admin suspending someone, who is signed out at once.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "./__fixtures__/chromium.js";
import { makeTestWorkspace } from "./__fixtures__/generated-model.js";
import { cliPath, type HelexaProcess, startUp } from "./__fixtures__/helexa-process.js";

/** Runs `helexa admin create`, typing the password on standard input as a script would. */
async function adminCreate(home: string, email: string, password: string) {
  const child = spawn(
    process.execPath,
    [cliPath, "admin", "create", "--email", email, "--password-stdin", "--home", home, "--log-level", "warn"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(`${password}\n`);
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

async function signIn(page: Page, portalUrl: string, email: string, password: string) {
  await page.goto(`${portalUrl}/signin`);
  await page.getByLabel(/email/i).fill(email);
  await page.getByLabel(/password/i).fill(password);
  await page.getByRole("button", { name: /^sign in$/i }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/signin"));
}

describe("admins", { skip: chromiumMissing() }, () => {
  let fabric: HelexaProcess;
  let home: string;
  let portalUrl: string;
  const boss = { email: "boss@example.com", password: "a long admin password" };

  before(async () => {
    const workspace = await makeTestWorkspace();
    home = workspace.home;
    const tooShort = await adminCreate(home, boss.email, "short");
    assert.equal(tooShort.code, 2, "a password too short is a usage error");
    assert.match(tooShort.stderr, /password: use at least 10 characters/);
    const created = await adminCreate(home, boss.email, boss.password);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created admin boss@example.com/);
    ({ fabric, portalUrl } = await startUp({ home, modelPath: workspace.modelPath }));
  });

  after(async () => {
    await fabric?.stop("SIGINT");
  });

  test("while the fabric runs on its embedded database, admin create says so in one line", async () => {
    const locked = await adminCreate(home, "second@example.com", "another long password");
    assert.notEqual(locked.code, 0);
    assert.equal(locked.stderr.trim().split("\n").length, 1, locked.stderr);
    assert.match(locked.stderr, /in use by another helexa process .*stop it first/);
  });

  test("the admin made by the command signs in; the next person to sign up is not an admin", async () => {
    await using adminBrowser = await launchChromium();
    const admin = await adminBrowser.newPage();
    await signIn(admin, portalUrl, boss.email, boss.password);
    await admin.goto(`${portalUrl}/admin`);
    await admin
      .getByText(/revenue/i)
      .first()
      .waitFor();

    await using userBrowser = await launchChromium();
    const carol = await userBrowser.newPage();
    await carol.goto(`${portalUrl}/signup`);
    await carol.getByLabel(/name/i).first().fill("Carol");
    await carol.getByLabel(/email/i).fill("carol@example.com");
    await carol
      .getByLabel(/password/i)
      .first()
      .fill("carol's long password");
    await carol.getByRole("button", { name: /sign up|create account/i }).click();
    await carol.waitForURL(/\/chat/);
    await carol.goto(`${portalUrl}/admin`);
    await carol
      .getByText(/not allowed/i)
      .first()
      .waitFor();

    // The admin suspends Carol; her very next request finds her signed out.
    await admin.goto(`${portalUrl}/admin`);
    admin.once("dialog", (dialog) => void dialog.accept());
    await admin
      .getByRole("row", { name: /carol@example.com/ })
      .getByRole("button", { name: /^suspend$/i })
      .click();
    await admin
      .getByRole("row", { name: /carol@example.com/ })
      .getByText(/suspended/i)
      .waitFor();
    await carol.goto(`${portalUrl}/keys`);
    await carol.waitForURL(/\/signin/);
    // And she cannot sign in again.
    await carol.getByLabel(/email/i).fill("carol@example.com");
    await carol.getByLabel(/password/i).fill("carol's long password");
    await carol.getByRole("button", { name: /^sign in$/i }).click();
    await carol
      .getByText(/not right|too many/i)
      .first()
      .waitFor();
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The /donate page in Chromium: a visitor agrees, the tab serves the openai SDK's request, leaves when closed, and a second visit loads from storage.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import type { BrowserContext, Page } from "playwright-core";
import { chromiumMissing, launchChromium } from "./__fixtures__/chromium.js";
import { makeTestWorkspace, TEST_MODEL_ID } from "./__fixtures__/generated-model.js";
import { freePort, HelexaProcess, waitUntil } from "./__fixtures__/helexa-process.js";
import { seedFabric } from "./__fixtures__/seed-fabric.js";

interface HealthNeuron {
  id: string;
  ready: boolean;
}

describe("the /donate page", { skip: chromiumMissing() }, () => {
  let home: string;
  let cortex: HelexaProcess;
  let orchestratorHttp: string;
  let portalUrl: string;
  let client: OpenAI;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let context: BrowserContext;
  /** Every request for the model file, from the page or its worker. */
  const modelFileRequests: string[] = [];
  let tabNeuronId = "";

  before(async () => {
    const workspace = await makeTestWorkspace();
    home = workspace.home;
    const bytes = await readFile(workspace.modelPath);
    // cortex's model cache has the file, as `helexa up` leaves it after downloading the catalog's model.
    await mkdir(join(home, "models"), { recursive: true });
    await copyFile(workspace.modelPath, join(home, "models", `${TEST_MODEL_ID}.gguf`));
    const seeded = await seedFabric({
      home,
      accountName: "donate page e2e",
      neuronNames: [],
      prices: { prompt: 40_000, completion: 90_000 },
      modelFile: {
        sourceUrl: `https://models.invalid/${TEST_MODEL_ID}.gguf`,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        sizeBytes: bytes.length,
      },
      credits: 5_000_000,
    });
    const [orchestrator, gateway, portal] = await Promise.all([freePort(), freePort(), freePort()]);
    cortex = new HelexaProcess(
      [
        "cortex",
        ...["--home", home, "--ice-bind-address", "127.0.0.1"],
        ...["--orchestrator-socket", `127.0.0.1:${orchestrator}`, "--gateway-socket", `127.0.0.1:${gateway}`],
        ...["--portal-socket", `127.0.0.1:${portal}`],
      ],
      { HELEXA_PORTAL_AUTH_SECRET: "e2e-donate-page-secret-of-32-characters-at-least" },
    );
    await cortex.waitForOutput(/portal\s+http/);
    orchestratorHttp = `http://127.0.0.1:${orchestrator}`;
    portalUrl = `http://127.0.0.1:${portal}`;
    client = new OpenAI({ apiKey: seeded.apiKey, baseURL: `http://127.0.0.1:${gateway}/v1`, maxRetries: 0 });
    browser = await launchChromium();
    context = browser;
    context.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/models/")) modelFileRequests.push(request.method());
    });
  });

  after(async () => {
    await browser?.[Symbol.asyncDispose]();
    await cortex?.stop("SIGINT");
  });

  async function online(): Promise<HealthNeuron[]> {
    const response = await fetch(`${orchestratorHttp}/health`);
    return ((await response.json()) as { neurons: HealthNeuron[] }).neurons.filter((neuron) => neuron.ready);
  }

  /** Opens /donate, agrees, starts; returns once the page says it serves jobs. */
  async function donate(): Promise<{ page: Page; progressShown: string[] }> {
    const page = await context.newPage();
    await page.goto(`${portalUrl}/donate`);
    // Progress bars come and go quickly for a tiny model: record every one that appeared.
    await page.evaluate(`(() => {
      const seen = new Set();
      window.progressSeen = seen;
      new MutationObserver(() => {
        for (const bar of document.querySelectorAll("[data-testid^='donate-progress-']"))
          seen.add(bar.getAttribute("data-testid"));
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    })()`);
    await page.getByLabel("Model", { exact: true }).selectOption(TEST_MODEL_ID);
    await page.getByLabel(/I agree that this tab downloads the model/).check();
    await page.getByRole("button", { name: "Start donating" }).click();
    const pageLog: string[] = [];
    page.on("console", (message) => pageLog.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => pageLog.push(`pageerror: ${error.message}`));
    page.on("requestfailed", (request) =>
      pageLog.push(`failed: ${request.url()} ${request.failure()?.errorText}`),
    );
    page.on("response", (response) => {
      if (response.status() >= 400) pageLog.push(`status ${response.status()}: ${response.url()}`);
    });
    try {
      await page.locator("[data-testid='donate-phase'][data-phase='serving']").waitFor({ timeout: 60_000 });
    } catch (error) {
      const shown = await page
        .locator("main")
        .textContent()
        .catch(() => "");
      throw new Error(`the page did not start serving: ${shown}\n${pageLog.join("\n")}`, { cause: error });
    }
    const progressShown = (await page.evaluate("[...window.progressSeen]")) as string[];
    return { page, progressShown };
  }

  test("a visitor agrees and the tab serves the openai SDK's request, streamed, with its neuron named", async () => {
    const { page, progressShown } = await donate();
    assert.ok(progressShown.includes("donate-progress-download"), `progress bars: ${progressShown}`);
    assert.match((await page.getByTestId("donate-engine").textContent()) ?? "", /wllama \(WebAssembly\)/);
    const neuronText = (await page.getByText(/^Neuron /).textContent()) ?? "";
    tabNeuronId = neuronText.replace(/^Neuron /, "").trim();
    await waitUntil(async () => (await online()).some((n) => n.id === tabNeuronId), 10_000, "the tab online");

    const { data: stream, response } = await client.chat.completions
      .create({
        model: TEST_MODEL_ID,
        messages: [{ role: "user", content: "hello from the donate page test" }],
        max_tokens: 16,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    assert.equal(response.headers.get("x-helexa-neuron"), tabNeuronId, "the tab served it");
    let text = "";
    let deltas = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) {
        text += content;
        deltas++;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(text.length > 0 && deltas > 1, "tokens streamed");
    assert.equal(usage?.completion_tokens, 16);
    await page.getByTestId("donate-jobs").filter({ hasText: "1" }).waitFor({ timeout: 5000 });
    assert.match((await page.getByTestId("donate-earned").textContent()) ?? "", /anonymous/);

    // Closing the tab: cortex drops the neuron at once.
    await page.close({ runBeforeUnload: true });
    await waitUntil(
      async () => !(await online()).some((n) => n.id === tabNeuronId),
      3000,
      "the tab to leave",
    );
  });

  test("a second visit loads the model from browser storage (no request for the file) as the same neuron; hidden, it pauses; a second tab is turned away", async () => {
    const before = modelFileRequests.length;
    assert.ok(before > 0, "the first visit fetched the file");
    const { page } = await donate();
    assert.match(
      (await page.getByTestId("donate-engine").textContent()) ?? "",
      /came from this browser's storage/,
    );
    assert.equal(modelFileRequests.length, before, "no request for the model file");
    assert.equal(
      ((await page.getByText(/^Neuron /).textContent()) ?? "").replace(/^Neuron /, "").trim(),
      tabNeuronId,
    );
    // Hidden (the browser may throttle it): the tab leaves cortex and comes back when visible again.
    const setVisibility = (state: "hidden" | "visible") =>
      page.evaluate(`(() => {
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "${state}" });
        document.dispatchEvent(new Event("visibilitychange"));
      })()`);
    await setVisibility("hidden");
    await page.locator("[data-testid='donate-phase'][data-phase='paused']").waitFor({ timeout: 5000 });
    await waitUntil(
      async () => !(await online()).some((n) => n.id === tabNeuronId),
      5000,
      "the hidden tab to leave",
    );
    await setVisibility("visible");
    await page.locator("[data-testid='donate-phase'][data-phase='serving']").waitFor({ timeout: 15_000 });
    await waitUntil(
      async () => (await online()).some((n) => n.id === tabNeuronId),
      10_000,
      "the tab to come back",
    );

    // A second tab of the same browser would share the neuron's token: it is turned away.
    const second = await context.newPage();
    await second.goto(`${portalUrl}/donate`);
    await second.getByLabel(/I agree that this tab downloads the model/).check();
    await second.getByRole("button", { name: "Start donating" }).click();
    await second.getByText("Another tab of this browser is donating already").waitFor({ timeout: 5000 });
    await second.close();
    await page.getByRole("button", { name: "Stop donating" }).click();
    await page.locator("[data-testid='donate-phase'][data-phase='stopped']").waitFor({ timeout: 15_000 });
    await waitUntil(
      async () => !(await online()).some((n) => n.id === tabNeuronId),
      3000,
      "the tab to leave",
    );
    await page.close();
  });
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// What the portal's chat costs over an API call: the same prompts through tRPC's stream and through the openai SDK.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AppRouter } from "@helexa/api";
import { generateTinyModel } from "@helexa/gguf";
import { createTRPCClient, httpBatchStreamLink, httpLink } from "@trpc/client";
import OpenAI from "openai";
import superjson from "superjson";
import { startFabricProcess } from "./fabric-process.js";
import { median, quantile } from "./statistics.js";

interface Sample {
  ttftMs: number;
  totalMs: number;
  completionTokens: number;
  text: string;
}

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "12" },
    "max-tokens": { type: "string", default: "64" },
  },
});
const requests = Number(values.requests);
const maxTokens = Number(values["max-tokens"]);

const home = await mkdtemp(join(tmpdir(), "helexa-bench-portal-"));
const modelPath = join(home, "helexa-bench.gguf");
await generateTinyModel({ path: modelPath, preset: "bench", seed: 1 });
await using fabric = await startFabricProcess({ modelPath, home, threads: 1, gpu: "off" });
if (!fabric.portalUrl) throw new Error("helexa up printed no portal URL");
const portal = fabric.portalUrl;

const cookie = await signUpAndSignIn(portal);
const client = createTRPCClient<AppRouter>({
  links: [httpLink({ url: `${portal}/api/trpc`, transformer: superjson, headers: { cookie } })],
});
const streaming = createTRPCClient<AppRouter>({
  links: [httpBatchStreamLink({ url: `${portal}/api/trpc`, transformer: superjson, headers: { cookie } })],
});
for (let pack = 0; pack < 2; pack++) {
  const checkout = await client.billing.checkout.mutate({ packId: "scale" });
  await client.billing.devPay.mutate({ id: checkout.purchaseId });
}
const sdk = new OpenAI({ apiKey: fabric.apiKey, baseURL: fabric.gatewayUrl, maxRetries: 0 });

const prompt = (index: number) => `Question ${index}: what does a fabric of pooled compute do well?`;

async function viaSdk(index: number): Promise<Sample> {
  const start = performance.now();
  let ttftMs = 0;
  let text = "";
  let completionTokens = 0;
  const stream = await sdk.chat.completions.create({
    model: fabric.modelId,
    messages: [{ role: "user", content: prompt(index) }],
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content ?? "";
    if (delta && !text) ttftMs = performance.now() - start;
    text += delta;
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
  }
  return { ttftMs, totalMs: performance.now() - start, completionTokens, text };
}

async function viaPortal(index: number): Promise<Sample> {
  const start = performance.now();
  let ttftMs = 0;
  let text = "";
  let completionTokens = 0;
  const events = await streaming.chat.send.mutate({
    model: fabric.modelId,
    content: prompt(index),
    maxTokens,
    temperature: 0,
  });
  for await (const event of events) {
    if (event.type === "delta") {
      if (!text) ttftMs = performance.now() - start;
      text += event.text;
    } else if (event.type === "done") {
      completionTokens = event.completionTokens;
    } else if (event.type === "error") {
      throw new Error(`portal chat failed: ${event.code} ${event.message}`);
    }
  }
  return { ttftMs, totalMs: performance.now() - start, completionTokens, text };
}

// Warm-up: the first llama.cpp evaluation and the first page of each path are slower than the rest.
await viaSdk(-1);
await viaPortal(-1);
const sdkSamples: Sample[] = [];
const portalSamples: Sample[] = [];
let identical = 0;
const mismatches: Array<{ index: number; sdk: Sample; portal: Sample }> = [];
for (let index = 0; index < requests; index++) {
  // The order flips every prompt, so a drift in the machine's load falls on both paths alike.
  const [first, second] = index % 2 === 0 ? [viaSdk, viaPortal] : [viaPortal, viaSdk];
  const a = await first(index);
  const b = await second(index);
  const [sdkSample, portalSample] = index % 2 === 0 ? [a, b] : [b, a];
  sdkSamples.push(sdkSample);
  portalSamples.push(portalSample);
  if (sdkSample.text === portalSample.text && sdkSample.completionTokens === portalSample.completionTokens) {
    identical++;
  } else {
    mismatches.push({ index, sdk: sdkSample, portal: portalSample });
  }
}

const decodeRate = (sample: Sample) =>
  sample.completionTokens > 1 ? (sample.completionTokens - 1) / ((sample.totalMs - sample.ttftMs) / 1000) : 0;
const row = (label: string, pick: (sample: Sample) => number, digits = 1) =>
  `${label.padEnd(34)}${median(sdkSamples.map(pick)).toFixed(digits).padStart(10)}${median(
    portalSamples.map(pick),
  )
    .toFixed(digits)
    .padStart(12)}`;
const sdkTtft = median(sdkSamples.map((sample) => sample.ttftMs));
const portalTtft = median(portalSamples.map((sample) => sample.ttftMs));
process.stdout.write(
  [
    `portal chat vs openai SDK: ${requests} prompts each, ${maxTokens} tokens max, greedy, helexa up with 1 llama thread`,
    "",
    `${"".padEnd(34)}${"SDK".padStart(10)}${"portal".padStart(12)}`,
    row("TTFT median (ms)", (sample) => sample.ttftMs),
    `${"TTFT p90 (ms)".padEnd(34)}${quantile(
      sdkSamples.map((sample) => sample.ttftMs),
      0.9,
    )
      .toFixed(1)
      .padStart(10)}${quantile(
      portalSamples.map((sample) => sample.ttftMs),
      0.9,
    )
      .toFixed(1)
      .padStart(12)}`,
    row("decode tokens/s median", decodeRate),
    row("whole reply median (ms)", (sample) => sample.totalMs),
    "",
    `portal/SDK decode tokens/s         ${(median(portalSamples.map(decodeRate)) / median(sdkSamples.map(decodeRate))).toFixed(3)}`,
    `portal/SDK TTFT                    ${(portalTtft / sdkTtft).toFixed(3)}  (${(portalTtft - sdkTtft).toFixed(1)} ms more)`,
    `identical text and tokens          ${identical}/${requests} prompts`,
    ...mismatches
      .slice(0, 2)
      .map(
        ({ index, sdk: a, portal: b }) =>
          `  prompt ${index}: SDK ${a.completionTokens} tokens ${JSON.stringify(a.text.slice(0, 50))}\n           portal ${b.completionTokens} tokens ${JSON.stringify(b.text.slice(0, 50))}`,
      ),
    "",
  ].join("\n"),
);
await fabric.stop();
await rm(home, { recursive: true, force: true });

/** A portal account as a person makes one: sign up over tRPC, then Auth.js's credentials sign-in. */
async function signUpAndSignIn(origin: string): Promise<string> {
  const email = `bench-${Date.now()}@example.com`;
  const password = "bench password 1234";
  const anonymous = createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${origin}/api/trpc`, transformer: superjson })],
  });
  await anonymous.account.signUp.mutate({ email, name: "bench", password });
  const jar = new Map<string, string>();
  const keep = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...rest] = (pair ?? "").split("=");
      if (name) jar.set(name.trim(), rest.join("="));
    }
  };
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  const csrfResponse = await fetch(`${origin}/api/auth/csrf`);
  keep(csrfResponse);
  const { csrfToken } = (await csrfResponse.json()) as { csrfToken: string };
  const signIn = await fetch(`${origin}/api/auth/callback/credentials`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader() },
    body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
    redirect: "manual",
  });
  keep(signIn);
  if (![...jar.keys()].some((name) => name.endsWith("next-auth.session-token"))) {
    throw new Error(`sign-in set no session cookie (status ${signIn.status})`);
  }
  return cookieHeader();
}

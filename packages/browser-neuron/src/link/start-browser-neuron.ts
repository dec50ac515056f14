// SPDX-License-Identifier: PolyForm-Shield-1.0
// A tab becomes a neuron: its runtime, its limits and its link to cortex wired together, leaving cortex at once when the page goes.

import type { Capabilities, GenerationRequest, NeuronLimits } from "@helexa/protocol";
import { JobRunner, type LanguageModelRuntime } from "@helexa/runtime";
import { BrowserCortexLink, type BrowserLinkLog, type BrowserLinkState } from "./browser-cortex-link.js";
import type { BrowserPeer } from "./browser-peer.js";

export interface StartBrowserNeuronOptions {
  /** cortex's orchestrator socket (ws:// or wss://), as `donate.neuronToken` gives it. */
  cortexUrl: string;
  /** The tab's neuron token (`donate.neuronToken`), kept in localStorage between visits. */
  token: string;
  /** Shown in cortex's registry and on the operator's page. */
  name?: string;
  /** Serves the jobs: wllama or WebLLM in a worker, or any other `LanguageModelRuntime`. */
  runtime: LanguageModelRuntime;
  /**
   * What the tab takes on: `maxJobTokens` (prompt plus completion of one job) is required, since cortex
   * gives a tab only jobs that fit it; `maxConcurrentJobs` caps the runtime's slots.
   */
  limits: NeuronLimits & { maxJobTokens: number };
  /**
   * Decode tokens/s per model id: cortex's guess of the tab's speed until its jobs measure it. A model
   * missing here is measured with one short greedy answer before the tab dials cortex (`measureSpeed`).
   */
  tokensPerSecond?: Record<string, number>;
  /** Measure the models' speed the tab was not told (default true). */
  measureSpeed?: boolean;
  /** How the machine describes itself; read from `navigator` by default. */
  hardware?: Capabilities["hardware"];
  /** Leave cortex at once on pagehide and beforeunload (default true). */
  leaveWithPage?: boolean;
  onStateChange?: (
    state: BrowserLinkState,
    detail: { neuronId: string | null; lastError: string | null },
  ) => void;
  /** Every job that ended, with its completion tokens and how long it ran. */
  onJobDone?: (outcome: {
    jobId: string;
    status: "completed" | "failed" | "cancelled";
    tokens: number;
    durationMs: number;
  }) => void;
  log?: BrowserLinkLog;
}

export interface BrowserNeuron {
  readonly state: BrowserLinkState;
  /** cortex's id for this tab, once welcomed. */
  readonly neuronId: string | null;
  readonly lastError: string | null;
  readonly activeJobs: number;
  /** Resolves once the data channel first opens; rejects when cortex refuses the token. */
  readonly ready: Promise<void>;
  /** Sends the capabilities again, after the runtime loaded another model. */
  announce(): void;
  /**
   * Stops taking jobs (`draining`), lets the running ones finish for at most `timeoutMs` (default 10 s),
   * then leaves: the "stop donating" button.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Leaves at once; the page is going. */
  leave(): void;
}

/** The software string a tab sends in its hello. */
export const browserNeuronSoftware = "helexa-browser-neuron/0.1";

export function startBrowserNeuron(options: StartBrowserNeuronOptions): BrowserNeuron {
  const { runtime, limits } = options;
  const tokensPerSecond = new Map(Object.entries(options.tokensPerSecond ?? {}));
  let channel: BrowserPeer | null = null;
  const runner = new JobRunner({
    runtime,
    send: (message) => {
      if (!channel) throw new Error("no data channel to cortex");
      // A full channel slows generation down rather than buffering without bound.
      if (!channel.send(message)) return channel.drain();
    },
    ...(options.onJobDone ? { onJobDone: options.onJobDone } : {}),
    onProtocolError: (error) => options.log?.warn("cortex.protocol_violation", { message: error.message }),
    ...(options.log ? { log: options.log } : {}),
  });
  const slots = Math.min(runtime.slots, limits.maxConcurrentJobs ?? runtime.slots);
  const link = new BrowserCortexLink({
    url: options.cortexUrl,
    token: options.token,
    name: options.name ?? "browser tab",
    software: browserNeuronSoftware,
    capabilities: () => ({
      models: runtime.models().map((model) => {
        const measured = tokensPerSecond.get(model.id);
        return {
          id: model.id,
          contextLength: model.contextLength,
          ...(measured ? { tokensPerSecond: measured } : {}),
        };
      }),
      runtime: { kind: runtime.kind, engine: runtime.engine },
      host: "browser",
      limits: { ...limits, maxConcurrentJobs: slots },
      hardware: options.hardware ?? browserHardware(),
      slots,
      ...(runtime.canResume ? { resume: true } : {}),
    }),
    onChannel: (peer) => {
      channel = peer;
      peer.onMessage((raw) => runner.handle(raw));
    },
    onChannelLost: (reason) => {
      channel = null;
      runner.abortAll(`the link to cortex was lost: ${reason}`);
    },
    ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
    ...(options.log ? { log: options.log } : {}),
  });

  const leave = () => {
    left = true;
    runner.abortAll("the tab is closing");
    link.leave();
    removePageListeners();
  };
  const onPageHide = () => leave();
  const listening = (options.leaveWithPage ?? true) && typeof addEventListener === "function";
  if (listening) {
    addEventListener("pagehide", onPageHide);
    addEventListener("beforeunload", onPageHide);
  }
  function removePageListeners(): void {
    if (!listening) return;
    removeEventListener("pagehide", onPageHide);
    removeEventListener("beforeunload", onPageHide);
  }

  let left = false;
  const measuring =
    options.measureSpeed === false
      ? Promise.resolve()
      : (async () => {
          for (const model of runtime.models()) {
            if (left || tokensPerSecond.has(model.id)) continue;
            const measured = await measureDecodeSpeed(runtime, model.id).catch(() => null);
            if (measured !== null) tokensPerSecond.set(model.id, measured);
          }
        })();
  const ready = measuring.then(() => {
    if (left) throw new Error("the browser neuron left before it connected");
    return link.start();
  });
  ready.catch(() => {});
  return {
    get state() {
      return link.state;
    },
    get neuronId() {
      return link.neuronId;
    },
    get lastError() {
      return link.lastError;
    },
    get activeJobs() {
      return runner.activeJobs;
    },
    ready,
    announce: () => link.announce(),
    async stop({ timeoutMs = 10_000 } = {}) {
      link.drain();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        runner.drain(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      leave();
    },
    leave,
  };
}

/**
 * Decode tokens/s of one short greedy answer: the tokens after the first over the time since the first
 * (the first also pays for reading the prompt). Null when the answer is too short to tell.
 */
export async function measureDecodeSpeed(
  runtime: LanguageModelRuntime,
  modelId: string,
  signal?: AbortSignal,
): Promise<number | null> {
  const request: GenerationRequest = {
    model: modelId,
    input: { kind: "chat", messages: [{ role: "user", content: "Count from one to twenty." }] },
    sampling: { maxTokens: 16, temperature: 0 },
  };
  let firstAt: number | null = null;
  for await (const part of runtime.doStream({ request, ...(signal ? { abortSignal: signal } : {}) })) {
    if (part.type === "text-delta") firstAt ??= performance.now();
    else if (part.type === "error") return null;
    else {
      const seconds = firstAt === null ? 0 : (performance.now() - firstAt) / 1000;
      const tokens = part.usage.completionTokens - 1;
      return tokens >= 2 && seconds > 0 ? Math.round((tokens / seconds) * 10) / 10 : null;
    }
  }
  return null;
}

/** What a page can tell of its machine: cores, roughly its memory, and no GPU name (browsers hide it). */
export function browserHardware(): Capabilities["hardware"] {
  const navigatorInfo = globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined;
  return {
    cpu: navigatorInfo?.userAgent.slice(0, 200) ?? "browser",
    cores: Math.max(1, navigatorInfo?.hardwareConcurrency ?? 1),
    // deviceMemory is in GiB, rounded and capped by the browser (Chromium: at most 8).
    memoryBytes: (navigatorInfo?.deviceMemory ?? 0) * 1024 ** 3,
    gpu: null,
  };
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Donate a tab: the visitor agrees, the tab loads a model in a Web Worker and serves jobs for cortex over WebRTC.

"use client";

import type * as BrowserNeuronLibrary from "@helexa/browser-neuron";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { Card } from "../../components/card";
import { ProgressBar } from "../../components/progress-bar";
import { useMe } from "../../components/session";
import { Stat } from "../../components/stat";
import { ErrorNote } from "../../components/status";
import { errorMessage } from "../../lib/errors";
import { formatBytes, formatCredits, formatInteger } from "../../lib/format";
import type { RouterOutputs } from "../../lib/types";
import { useTRPC } from "../providers";

type Library = typeof BrowserNeuronLibrary;
type BrowserNeuron = BrowserNeuronLibrary.BrowserNeuron;
type EngineClient = BrowserNeuronLibrary.EngineClient;
type EngineReady = BrowserNeuronLibrary.EngineReady;
type DonateModel = RouterOutputs["donate"]["models"][number];

/** Where cortex serves @helexa/browser-neuron's bundles, next to this page (same origin). */
const bundlePrefix = "/browser-neuron/";
/** The tab's neuron token, reused on later visits so the same browser stays the same neuron. */
const tokenStorageKey = "helexa.donate.neuronToken";
const defaultMemoryLimitMb = 1024;

type Phase = "idle" | "loading" | "connecting" | "serving" | "paused" | "stopping" | "stopped" | "failed";

interface Progress {
  phase: "download" | "load";
  fraction: number | null;
  bytes?: { done: number; total: number | null } | undefined;
}

interface Served {
  jobs: number;
  failed: number;
  tokens: number;
  /** Decode speed of the last job that produced tokens. */
  tokensPerSecond: number | null;
}

/** The bundle is built apart from the portal (esbuild) and loaded at run time, never bundled into the page. */
async function loadLibrary(): Promise<Library> {
  const url = new URL(`${bundlePrefix}browser-neuron.js`, window.location.href).href;
  return (await import(/* webpackIgnore: true */ /* turbopackIgnore: true */ url)) as Library;
}

const phaseText: Record<Phase, string> = {
  idle: "Not donating",
  loading: "Loading the model",
  connecting: "Connecting to the fabric",
  serving: "Serving jobs",
  paused: "Paused while this tab is hidden",
  stopping: "Finishing its jobs, then stopping",
  stopped: "Stopped",
  failed: "Stopped by an error",
};

export function DonateView() {
  const trpc = useTRPC();
  const me = useMe();
  const models = useQuery(trpc.donate.models.queryOptions());
  const tokenMutation = useMutation(trpc.donate.neuronToken.mutationOptions());

  const [agreed, setAgreed] = useState(false);
  const [modelId, setModelId] = useState<string>("");
  const [memoryLimitMb, setMemoryLimitMb] = useState(defaultMemoryLimitMb);
  const [pauseWhenHidden, setPauseWhenHidden] = useState(true);
  const [phase, setPhase] = useState<Phase>("idle");
  const [progress, setProgress] = useState<Progress | null>(null);
  const [ready, setReady] = useState<EngineReady | null>(null);
  const [neuronId, setNeuronId] = useState<string | null>(null);
  const [anonymous, setAnonymous] = useState<boolean | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [served, setServed] = useState<Served>({ jobs: 0, failed: 0, tokens: 0, tokensPerSecond: null });

  const engine = useRef<EngineClient | null>(null);
  const neuron = useRef<BrowserNeuron | null>(null);
  const library = useRef<Library | null>(null);
  const link = useRef<{ cortexUrl: string; token: string } | null>(null);
  const loadAbort = useRef<AbortController | null>(null);
  /** Releases this tab's hold on the browser-wide donation lock. */
  const releaseLock = useRef<(() => void) | null>(null);

  const chosen: DonateModel | undefined =
    models.data?.find((model) => model.id === modelId) ?? models.data?.[0];

  /** Registers the loaded engine with cortex as a neuron. */
  const connect = useCallback(() => {
    const lib = library.current;
    const runtime = engine.current;
    const target = link.current;
    const loaded = runtime?.ready;
    if (!lib || !runtime || !target || !loaded) return;
    setPhase("connecting");
    const started = lib.startBrowserNeuron({
      cortexUrl: target.cortexUrl,
      token: target.token,
      name: `${loaded.engine} tab`,
      runtime,
      limits: { maxJobTokens: loaded.model.contextLength, maxConcurrentJobs: 1 },
      onStateChange: (state, detail) => {
        if (detail.neuronId) setNeuronId(detail.neuronId);
        if (state === "connected") setPhase((current) => (current === "stopping" ? current : "serving"));
        else if (state === "reconnecting") setPhase("connecting");
        else if (state === "rejected") setPhase("failed");
        if (detail.lastError && state !== "connected") setProblem(detail.lastError);
      },
      onJobDone: (outcome) =>
        setServed((before) => ({
          jobs: before.jobs + (outcome.status === "failed" ? 0 : 1),
          failed: before.failed + (outcome.status === "failed" ? 1 : 0),
          tokens: before.tokens + outcome.tokens,
          tokensPerSecond:
            outcome.tokens > 1 && outcome.durationMs > 0
              ? (outcome.tokens / outcome.durationMs) * 1000
              : before.tokensPerSecond,
        })),
    });
    neuron.current = started;
    started.ready.catch((error: unknown) => {
      setProblem(errorMessage(error));
      setPhase("failed");
    });
  }, []);

  const start = async () => {
    if (!chosen) return;
    setProblem(null);
    setProgress(null);
    // The tabs of one browser share its neuron token, so only one of them may donate at a time.
    if (!(await takeDonationLock(releaseLock))) {
      setProblem("Another tab of this browser is donating already: one tab at a time.");
      setPhase("failed");
      return;
    }
    setPhase("loading");
    const abort = new AbortController();
    loadAbort.current = abort;
    try {
      const lib = library.current ?? (await loadLibrary());
      library.current = lib;
      const saved = window.localStorage.getItem(tokenStorageKey);
      const identity = await tokenMutation.mutateAsync(saved ? { token: saved } : {});
      window.localStorage.setItem(tokenStorageKey, identity.token);
      if (!identity.cortexUrl)
        throw new Error("this portal does not know where its cortex's orchestrator is");
      link.current = { cortexUrl: identity.cortexUrl, token: identity.token };
      setAnonymous(identity.anonymous);
      setNeuronId(identity.neuronId);
      // The browser may evict Cache Storage under pressure; a persisted origin keeps the model.
      void Promise.resolve(navigator.storage?.persist?.()).catch(() => false);
      const client = lib.createEngineClient({ workerUrl: `${bundlePrefix}engine-worker.js` });
      engine.current = client;
      const loaded = await client.load(chosen, {
        preferences: { engine: "auto", memoryLimitBytes: memoryLimitMb * 1024 * 1024 },
        onProgress: (event) =>
          setProgress({ phase: event.phase, fraction: event.fraction, bytes: event.bytes }),
        signal: abort.signal,
      });
      setReady(loaded);
      connect();
    } catch (error) {
      setProblem(errorMessage(error));
      setPhase("failed");
      releaseLock.current?.();
      await engine.current?.unload().catch(() => {});
    } finally {
      loadAbort.current = null;
    }
  };

  const stop = async () => {
    loadAbort.current?.abort();
    setPhase("stopping");
    await neuron.current?.stop({ timeoutMs: 10_000 }).catch(() => {});
    neuron.current = null;
    const leaving = engine.current;
    engine.current = null;
    await leaving?.unload().catch(() => {});
    await Promise.resolve(leaving?.[Symbol.asyncDispose]()).catch(() => {});
    setReady(null);
    releaseLock.current?.();
    setPhase("stopped");
  };

  // A hidden tab may be throttled or frozen by the browser: it leaves cortex (its jobs finish first) and
  // comes back, with the model still loaded, when the visitor returns.
  useEffect(() => {
    if (!pauseWhenHidden) return;
    const onVisibility = () => {
      if (document.visibilityState === "hidden" && neuron.current) {
        const leaving = neuron.current;
        neuron.current = null;
        setPhase("paused");
        void leaving.stop({ timeoutMs: 10_000 });
      } else if (document.visibilityState === "visible" && !neuron.current && engine.current?.ready) {
        connect();
      }
    };
    document.addEventListener("visibilitychange", onVisibility);
    return () => document.removeEventListener("visibilitychange", onVisibility);
  }, [pauseWhenHidden, connect]);

  // Closing or leaving the page: the neuron leaves the registry at once (startBrowserNeuron also listens).
  useEffect(
    () => () => {
      neuron.current?.leave();
      void engine.current?.[Symbol.asyncDispose]();
    },
    [],
  );

  const busy = phase === "loading" || phase === "connecting" || phase === "serving" || phase === "paused";

  return (
    <div className="page">
      <h1>Donate a tab</h1>
      <p className="muted">
        While this tab stays open it serves small language models to the fabric: cortex sends it jobs over a
        WebRTC data channel and the model runs here, in a Web Worker, on your GPU (WebGPU) or CPU
        (WebAssembly). Nothing is installed. Stop whenever you like.
      </p>

      <Card titleId="donate-setup-title" title="Before you start">
        <form
          className="form"
          onSubmit={(event) => {
            event.preventDefault();
            void start();
          }}
        >
          <div className="field">
            <label htmlFor="donate-model">Model</label>
            <select
              id="donate-model"
              value={chosen?.id ?? ""}
              disabled={busy || !models.data?.length}
              onChange={(event) => setModelId(event.target.value)}
            >
              {models.data?.map((model) => (
                <option key={model.id} value={model.id}>
                  {model.id}
                  {model.sizeBytes ? ` (${formatBytes(model.sizeBytes)})` : ""}
                </option>
              ))}
            </select>
            {models.isError ? <ErrorNote error={models.error} /> : null}
            {models.data?.length === 0 ? (
              <p className="field-hint">No model in the catalog has a file a browser can load yet.</p>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor="donate-memory">Memory the model may use (MB)</label>
            <input
              id="donate-memory"
              type="number"
              min={64}
              step={64}
              value={memoryLimitMb}
              disabled={busy}
              onChange={(event) => setMemoryLimitMb(Math.max(64, Number(event.target.value) || 64))}
            />
            <p className="field-hint">A model that needs more is not loaded; lower it on a small device.</p>
          </div>
          <div className="field field-check">
            <input
              id="donate-pause-hidden"
              type="checkbox"
              checked={pauseWhenHidden}
              onChange={(event) => setPauseWhenHidden(event.target.checked)}
            />
            <label htmlFor="donate-pause-hidden">Pause while this tab is hidden</label>
          </div>
          <div className="field field-check">
            <input
              id="donate-agree"
              type="checkbox"
              checked={agreed}
              disabled={busy}
              onChange={(event) => setAgreed(event.target.checked)}
            />
            <label htmlFor="donate-agree">
              I agree that this tab downloads the model, keeps it in browser storage, and uses this device's
              processor and network to serve other people's requests until I stop.
            </label>
          </div>
          <p className="muted">
            {me.data
              ? "You are signed in: what this tab serves earns credits for your account."
              : "You are not signed in: this is an anonymous donation. Sign in to earn credits for it."}
          </p>
          <div className="form-actions">
            {busy ? (
              <button type="button" className="button button-danger" onClick={() => void stop()}>
                Stop donating
              </button>
            ) : (
              <button type="submit" className="button button-primary" disabled={!agreed || !chosen}>
                Start donating
              </button>
            )}
          </div>
        </form>
      </Card>

      <Card titleId="donate-status-title" title="This tab">
        <p data-testid="donate-phase" data-phase={phase}>
          <strong>{phaseText[phase]}</strong>
        </p>
        {problem ? <ErrorNote>{problem}</ErrorNote> : null}
        {phase === "loading" && progress ? (
          <ProgressBar
            testId={`donate-progress-${progress.phase}`}
            label={progress.phase === "download" ? "Downloading the model" : "Loading the model"}
            fraction={progress.fraction}
            bytes={progress.bytes}
          />
        ) : null}
        {ready ? (
          <p data-testid="donate-engine">
            Engine: <strong>{ready.engine === "webllm" ? "WebLLM (WebGPU)" : "wllama (WebAssembly)"}</strong>
            {" — "}
            {ready.reason}
            {ready.fromStorage ? " The model came from this browser's storage." : ""}
          </p>
        ) : null}
        <dl className="stat-grid">
          <Stat label="Jobs served" main testId="donate-jobs">
            {formatInteger(served.jobs)}
          </Stat>
          <Stat label="Tokens served" testId="donate-tokens">
            {formatInteger(served.tokens)}
          </Stat>
          <Stat label="Tokens/s" testId="donate-speed">
            {served.tokensPerSecond === null ? "—" : served.tokensPerSecond.toFixed(1)}
          </Stat>
          <Stat label="Earned" testId="donate-earned">
            <Earned neuronId={neuronId} anonymous={anonymous} />
          </Stat>
        </dl>
        {neuronId ? <p className="muted">Neuron {neuronId}</p> : null}
      </Card>
    </div>
  );
}

/**
 * Holds the browser-wide lock "helexa-donate" until `release` is called (or the tab goes); false when
 * another tab holds it. Browsers without the Web Locks API let every tab through.
 */
function takeDonationLock(release: { current: (() => void) | null }): Promise<boolean> {
  if (release.current) return Promise.resolve(true);
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    void navigator.locks.request("helexa-donate", { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(false);
        return;
      }
      resolve(true);
      return new Promise<void>((done) => {
        release.current = () => {
          release.current = null;
          done();
        };
      });
    });
  });
}

/** Credits this tab's neuron earned, for a signed-in visitor; an anonymous donation earns none. */
function Earned(props: { neuronId: string | null; anonymous: boolean | null }) {
  const trpc = useTRPC();
  const signedIn = props.anonymous === false;
  const neurons = useQuery({
    ...trpc.operator.neurons.queryOptions(),
    enabled: signedIn && props.neuronId !== null,
    refetchInterval: 5000,
  });
  if (props.anonymous === true) return <>anonymous</>;
  const row = neurons.data?.find((neuron) => neuron.id === props.neuronId);
  return <>{row ? formatCredits(row.earnings) : "—"}</>;
}

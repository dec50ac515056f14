// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs the jobs cortex sends on a neuron's data channel against a runtime and streams the parts back: the native neuron's and a browser tab's alike.

import {
  type CortexChannelMessage,
  cortexChannelMessageSchema,
  decodeMessage,
  encodeMessage,
  HelexaError,
  type NeuronChannelMessage,
} from "@helexa/protocol";
import type { LanguageModelRuntime } from "./runtime.js";

/** The log lines a job runner writes; @helexa/log's Logger is one, and so is a browser's console wrapper. */
export interface JobRunnerLog {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

export interface JobRunnerOptions {
  runtime: LanguageModelRuntime;
  /** Sends one message to cortex; resolves when the channel can take more. */
  send: (message: string) => void | Promise<void>;
  onJobDone?: (outcome: {
    jobId: string;
    status: "completed" | "failed" | "cancelled";
    tokens: number;
    /** From the job's start to its end. */
    durationMs: number;
  }) => void;
  onProtocolError?: (error: HelexaError) => void;
  /** Gets `job.started` and `job.finished`, each with the job id and the gateway's request id. */
  log?: JobRunnerLog;
}

export class JobRunner {
  readonly #options: JobRunnerOptions;
  readonly #jobs = new Map<string, AbortController>();
  #draining = false;
  #idle: Array<() => void> = [];

  constructor(options: JobRunnerOptions) {
    this.#options = options;
  }

  get activeJobs(): number {
    return this.#jobs.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Takes no new jobs from now on; resolves once the running ones have ended. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#jobs.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  handle(raw: string): void {
    let message: CortexChannelMessage;
    try {
      message = decodeMessage(cortexChannelMessageSchema, raw);
    } catch (error) {
      this.#options.onProtocolError?.(error as HelexaError);
      return;
    }
    if (message.type === "job.cancel") {
      this.#jobs.get(message.jobId)?.abort(new HelexaError("job_cancelled", "cortex cancelled the job"));
      return;
    }
    if (this.#jobs.has(message.jobId)) return;
    const { jobId, requestId } = message;
    if (this.#draining) {
      // cortex placed it before it heard that this neuron drains: refuse it, so it is not left waiting.
      this.#options.log?.warn("job.refused", { jobId, requestId, reason: "draining" });
      const error = new HelexaError("no_capacity", "the neuron is shutting down and takes no new jobs");
      const refusal = encodeMessage({ type: "job.error", jobId, error: error.toWire() });
      void Promise.resolve()
        .then(() => this.#options.send(refusal))
        .catch(() => {});
      return;
    }
    const abort = new AbortController();
    this.#jobs.set(jobId, abort);
    const startedAt = performance.now();
    this.#options.log?.info("job.started", { jobId, requestId, model: message.request.model });
    void this.#run(jobId, message.request, abort.signal).then((outcome) => {
      this.#jobs.delete(jobId);
      const durationMs = Math.round(performance.now() - startedAt);
      this.#options.log?.info("job.finished", { jobId, requestId, ...outcome, durationMs });
      this.#options.onJobDone?.({ jobId, ...outcome, durationMs });
      if (this.#jobs.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  /** Cancels every running job, as when the link to cortex is lost. */
  abortAll(reason: string): void {
    for (const abort of this.#jobs.values()) abort.abort(new HelexaError("job_cancelled", reason));
  }

  async #run(
    jobId: string,
    request: Extract<CortexChannelMessage, { type: "job.start" }>["request"],
    signal: AbortSignal,
  ): Promise<{ status: "completed" | "failed" | "cancelled"; tokens: number }> {
    const send = (message: NeuronChannelMessage) => this.#options.send(encodeMessage(message));
    let tokens = 0;
    // Tokens another neuron generated before this one took the job over were served there.
    const resumed = request.resume?.tokens.length ?? 0;
    try {
      for await (const part of this.#options.runtime.doStream({ request, abortSignal: signal })) {
        if (part.type === "text-delta") {
          if (part.usage) tokens = part.usage.completionTokens - resumed;
          await send({
            type: "job.delta",
            jobId,
            text: part.text,
            ...(part.usage ? { usage: part.usage } : {}),
            // The ids let cortex move the job to another neuron after a failure (`request.resume`).
            ...(part.tokens ? { tokens: part.tokens } : {}),
          });
        } else if (part.type === "finish") {
          tokens = part.usage.completionTokens - resumed;
          await send({ type: "job.end", jobId, finishReason: part.finishReason, usage: part.usage });
          return { status: part.finishReason === "cancelled" ? "cancelled" : "completed", tokens };
        } else {
          await send({ type: "job.error", jobId, error: part.error.toWire() });
          return { status: "failed", tokens };
        }
      }
      throw new HelexaError("internal", "the runtime's stream ended without finishing");
    } catch (error) {
      const helexa = HelexaError.is(error) ? error : new HelexaError("internal", (error as Error).message);
      await Promise.resolve(send({ type: "job.error", jobId, error: helexa.toWire() })).catch(() => {});
      return { status: "failed", tokens };
    }
  }
}

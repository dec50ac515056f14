// SPDX-License-Identifier: PolyForm-Shield-1.0
// Runs the jobs cortex sends on the data channel against the local runtime and streams the parts back.

import {
  type CortexChannelMessage,
  cortexChannelMessageSchema,
  decodeMessage,
  encodeMessage,
  HelexaError,
  type NeuronChannelMessage,
} from "@helexa/protocol";
import type { LanguageModelRuntime } from "@helexa/runtime";

export interface JobRunnerOptions {
  runtime: LanguageModelRuntime;
  /** Sends one message to cortex; resolves when the channel can take more. */
  send: (message: string) => void | Promise<void>;
  onJobDone?: (outcome: {
    jobId: string;
    status: "completed" | "failed" | "cancelled";
    tokens: number;
  }) => void;
  onProtocolError?: (error: HelexaError) => void;
}

export class JobRunner {
  readonly #options: JobRunnerOptions;
  readonly #jobs = new Map<string, AbortController>();

  constructor(options: JobRunnerOptions) {
    this.#options = options;
  }

  get activeJobs(): number {
    return this.#jobs.size;
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
    const abort = new AbortController();
    this.#jobs.set(message.jobId, abort);
    void this.#run(message.jobId, message.request, abort.signal).finally(() =>
      this.#jobs.delete(message.jobId),
    );
  }

  /** Cancels every running job, as when the link to cortex is lost. */
  abortAll(reason: string): void {
    for (const abort of this.#jobs.values()) abort.abort(new HelexaError("job_cancelled", reason));
  }

  async #run(
    jobId: string,
    request: Extract<CortexChannelMessage, { type: "job.start" }>["request"],
    signal: AbortSignal,
  ) {
    const send = (message: NeuronChannelMessage) => this.#options.send(encodeMessage(message));
    let tokens = 0;
    try {
      for await (const part of this.#options.runtime.doStream({ request, abortSignal: signal })) {
        if (part.type === "text-delta") {
          if (part.usage) tokens = part.usage.completionTokens;
          await send(
            part.usage
              ? { type: "job.delta", jobId, text: part.text, usage: part.usage }
              : { type: "job.delta", jobId, text: part.text },
          );
        } else if (part.type === "finish") {
          tokens = part.usage.completionTokens;
          await send({ type: "job.end", jobId, finishReason: part.finishReason, usage: part.usage });
          this.#options.onJobDone?.({
            jobId,
            status: part.finishReason === "cancelled" ? "cancelled" : "completed",
            tokens,
          });
          return;
        } else {
          await send({ type: "job.error", jobId, error: part.error.toWire() });
          this.#options.onJobDone?.({ jobId, status: "failed", tokens });
          return;
        }
      }
      throw new HelexaError("internal", "the runtime's stream ended without finishing");
    } catch (error) {
      const helexa = HelexaError.is(error) ? error : new HelexaError("internal", (error as Error).message);
      await Promise.resolve(send({ type: "job.error", jobId, error: helexa.toWire() })).catch(() => {});
      this.#options.onJobDone?.({ jobId, status: "failed", tokens });
    }
  }
}

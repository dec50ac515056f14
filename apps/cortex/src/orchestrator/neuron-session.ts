// SPDX-License-Identifier: PolyForm-Shield-1.0
// One connected neuron on the cortex side: its WebSocket, its data channel and the jobs running on it.

import type { Peer } from "@helexa/mesh";
import {
  type Capabilities,
  type CortexChannelMessage,
  type CortexSessionMessage,
  decodeMessage,
  encodeMessage,
  errorCodeTable,
  type GenerationRequest,
  HelexaError,
  type ModelCapability,
  neuronChannelMessageSchema,
} from "@helexa/protocol";
import type { StreamPart } from "@helexa/runtime";
import type { WebSocket } from "ws";
import { PartQueue } from "./part-queue.js";
import { NeuronStats } from "./placement-stats.js";

export interface NeuronSessionOptions {
  neuronId: string;
  operatorAccountId: string | null;
  name: string;
  socket: WebSocket;
  peer: Peer;
  onClose: (session: NeuronSession, reason: string) => void;
  log: (event: string, fields: Record<string, unknown>) => void;
}

export class NeuronSession {
  readonly neuronId: string;
  readonly operatorAccountId: string | null;
  readonly name: string;
  readonly connectedAt = Date.now();
  capabilities: Capabilities | null = null;
  lastSeenAt = Date.now();
  jobsServed = 0;
  /** The neuron is shutting down: its running jobs go on (`ready` stays true), but placement skips it. */
  draining = false;
  readonly #socket: WebSocket;
  readonly #peer: Peer;
  readonly #jobs = new Map<string, PartQueue>();
  /** Measured decode tokens/s, round trip and recent failures, which placement weighs. */
  readonly stats = new NeuronStats();
  /** When each running job's first text arrived (keyed by its queue, so a cancelled job leaves nothing). */
  readonly #firstTextAt = new WeakMap<PartQueue, number>();
  readonly #options: NeuronSessionOptions;
  #channelOpen = false;
  #closed = false;

  constructor(options: NeuronSessionOptions) {
    this.neuronId = options.neuronId;
    this.operatorAccountId = options.operatorAccountId;
    this.name = options.name;
    this.#socket = options.socket;
    this.#peer = options.peer;
    this.#options = options;
    this.#peer.onMessage((raw) => this.#onChannelMessage(raw));
    this.#peer.onClose(() => this.close("the data channel closed"));
    this.#peer.opened.then(
      () => {
        this.#channelOpen = true;
      },
      (error: unknown) => this.close(`the data channel did not open: ${(error as Error).message}`),
    );
  }

  /** Ready for jobs: the data channel is open and the neuron said what it serves. */
  get ready(): boolean {
    return this.#channelOpen && this.capabilities !== null && !this.#closed;
  }

  get models(): ModelCapability[] {
    return this.capabilities?.models ?? [];
  }

  /** Jobs at once: its slots, or fewer when its limits say so (a browser tab). */
  get slots(): number {
    const capabilities = this.capabilities;
    if (!capabilities) return 1;
    return Math.min(capabilities.slots, capabilities.limits?.maxConcurrentJobs ?? capabilities.slots);
  }

  /** Takes over jobs from the token ids another neuron generated (`request.resume`). */
  get canResume(): boolean {
    return this.capabilities?.resume === true;
  }

  get activeJobs(): number {
    return this.#jobs.size;
  }

  get peer(): Peer {
    return this.#peer;
  }

  sendSession(message: CortexSessionMessage): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(encodeMessage(message));
  }

  /** Runs a job on this neuron; aborting the signal, or leaving the iteration early, cancels it there. */
  startJob(options: {
    jobId: string;
    request: GenerationRequest;
    signal: AbortSignal;
    /** The gateway's request id, so the neuron's log lines name it too. */
    requestId?: string;
  }): AsyncIterable<StreamPart> {
    const { jobId, request, signal, requestId } = options;
    if (!this.ready) throw new HelexaError("neuron_lost", `neuron ${this.neuronId} is not ready`);
    if (signal.aborted) throw new HelexaError("job_cancelled", "the job was cancelled before it started");
    const queue = new PartQueue();
    this.#jobs.set(jobId, queue);
    const cancel = () => {
      if (!this.#jobs.delete(jobId)) return;
      this.#sendChannel({ type: "job.cancel", jobId });
      queue.push({ type: "error", error: new HelexaError("job_cancelled", "the job was cancelled") });
    };
    signal.addEventListener("abort", cancel, { once: true });
    this.#sendChannel({
      type: "job.start",
      jobId,
      request,
      ...(requestId ? { requestId: requestId.slice(0, 200) } : {}),
    });
    return (async function* () {
      try {
        yield* queue;
      } finally {
        signal.removeEventListener("abort", cancel);
        cancel();
      }
    })();
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [jobId, queue] of this.#jobs) {
      queue.push({
        type: "error",
        error: new HelexaError("neuron_lost", `the neuron serving this job went away (${reason})`),
      });
      this.#jobs.delete(jobId);
    }
    this.#peer.close();
    if (
      this.#socket.readyState === this.#socket.OPEN ||
      this.#socket.readyState === this.#socket.CONNECTING
    ) {
      this.#socket.close(1000, reason.slice(0, 100));
    }
    this.#options.onClose(this, reason);
  }

  #sendChannel(message: CortexChannelMessage): void {
    try {
      this.#peer.send(encodeMessage(message));
    } catch (error) {
      this.close(`sending on the data channel failed: ${(error as Error).message}`);
    }
  }

  #onChannelMessage(raw: string): void {
    let message: ReturnType<typeof decodeMessage<typeof neuronChannelMessageSchema>>;
    try {
      message = decodeMessage(neuronChannelMessageSchema, raw);
    } catch (error) {
      this.#options.log("neuron.protocol_violation", {
        neuronId: this.neuronId,
        error: (error as Error).message,
      });
      return;
    }
    const queue = this.#jobs.get(message.jobId);
    if (!queue) return; // a job already cancelled or ended here
    switch (message.type) {
      case "job.delta":
        if (!this.#firstTextAt.has(queue)) this.#firstTextAt.set(queue, performance.now());
        queue.push({
          type: "text-delta",
          text: message.text,
          ...(message.usage ? { usage: message.usage } : {}),
          ...(message.tokens ? { tokens: message.tokens } : {}),
        });
        break;
      case "job.end":
        this.#jobs.delete(message.jobId);
        this.jobsServed += 1;
        this.#recordEnd(queue, message.usage.completionTokens);
        queue.push({ type: "finish", finishReason: message.finishReason, usage: message.usage });
        break;
      case "job.error":
        this.#jobs.delete(message.jobId);
        // A server-side error is the neuron's failure; a request it refused (4xx) is not.
        if (errorCodeTable[message.error.code].status >= 500)
          this.stats.recordJob({ completionTokens: 0, decodeSeconds: 0, failed: true });
        queue.push({ type: "error", error: HelexaError.fromWire(message.error) });
        break;
    }
  }

  /** Decode tokens/s of an ended job: the tokens after the first over the time since the first text. */
  #recordEnd(queue: PartQueue, completionTokens: number): void {
    const firstTextAt = this.#firstTextAt.get(queue);
    this.#firstTextAt.delete(queue);
    if (firstTextAt === undefined) return;
    this.stats.recordJob({
      completionTokens: completionTokens - 1,
      decodeSeconds: (performance.now() - firstTextAt) / 1000,
      failed: false,
    });
  }
}

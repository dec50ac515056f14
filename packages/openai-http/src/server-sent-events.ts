// SPDX-License-Identifier: PolyForm-Shield-1.0
// Writes a server-sent event stream the way OpenAI's API does, minding the socket's backpressure.

import type { ServerResponse } from "node:http";

export class ServerSentEvents {
  readonly #response: ServerResponse;

  constructor(response: ServerResponse, headers: Record<string, string>) {
    this.#response = response;
    response.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    response.flushHeaders();
  }

  /** Resolves once the socket can take more, so a slow client slows the job rather than growing a buffer. */
  async send(data: unknown): Promise<void> {
    const ok = this.#response.write(`data: ${JSON.stringify(data)}\n\n`);
    if (!ok && !this.#response.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#response.off("drain", done);
          this.#response.off("close", done);
          resolve();
        };
        this.#response.once("drain", done);
        this.#response.once("close", done);
      });
    }
  }

  end(): void {
    if (!this.#response.destroyed) this.#response.end("data: [DONE]\n\n");
  }
}

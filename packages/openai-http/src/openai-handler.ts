// SPDX-License-Identifier: PolyForm-Shield-1.0
// The OpenAI-compatible HTTP surface (models, chat completions, completions) over any generation backend.

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type ChatCompletionRequest,
  type CompletionRequest,
  chatCompletionRequestSchema,
  chatRequestToGeneration,
  completionRequestSchema,
  completionRequestToGeneration,
  describeZodError,
  type FinishReason,
  type GenerationRequest,
  HelexaError,
  type ModelObject,
  type OpenAIUsage,
  type Usage,
} from "@helexa/protocol";
import type { StreamPart } from "@helexa/runtime";
import type { z } from "zod";
import { toHttpError } from "./openai-error.js";
import { ServerSentEvents } from "./server-sent-events.js";

/** A generation the backend has accepted: its parts, and headers to send with the answer. */
export interface Generation {
  parts: AsyncIterable<StreamPart>;
  headers?: Record<string, string>;
}

export interface OpenAIBackend<Caller> {
  /** Throws HelexaError("invalid_api_key") for a missing or bad key. */
  authenticate(request: IncomingMessage): Promise<Caller>;
  listModels(caller: Caller): Promise<ModelObject[]>;
  /** Errors thrown here, or as the first part, become the HTTP status; later ones end the stream. */
  generate(options: {
    caller: Caller;
    request: GenerationRequest;
    signal: AbortSignal;
    requestId: string;
  }): Promise<Generation>;
}

export interface OpenAIHandlerOptions<Caller> {
  backend: OpenAIBackend<Caller>;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
  onError?: (error: unknown, requestId: string) => void;
}

export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export function createOpenAIHandler<Caller>(options: OpenAIHandlerOptions<Caller>): RequestListener {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  return (request, response) => {
    const requestId = headerValue(request, "x-request-id") ?? randomUUID();
    response.setHeader("x-request-id", requestId);
    route(request, response, requestId).catch((error: unknown) => {
      if (!HelexaError.is(error) || error.code === "internal") options.onError?.(error, requestId);
      sendError(response, error);
    });
  };

  async function route(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    const method = request.method ?? "GET";
    if (method === "OPTIONS") {
      response.writeHead(204, corsHeaders).end();
      return;
    }
    const endpoint = endpoints[path];
    if (!endpoint) throw new HelexaError("not_found", `Unknown request URL: ${method} ${path}`);
    if (endpoint !== method)
      throw new HelexaError("invalid_request", `${path} accepts ${endpoint}, not ${method}`);

    const caller = await options.backend.authenticate(request);
    if (path === "/v1/models") {
      const models = await options.backend.listModels(caller);
      sendJson(response, 200, { object: "list", data: models });
      return;
    }
    const body = await readJson(request, maxBodyBytes);
    if (path === "/v1/chat/completions") {
      const parsed = validate(chatCompletionRequestSchema, body);
      await serveGeneration({ caller, response, requestId, body: parsed, kind: "chat" });
    } else {
      const parsed = validate(completionRequestSchema, body);
      await serveGeneration({ caller, response, requestId, body: parsed, kind: "text" });
    }
  }

  async function serveGeneration(job: {
    caller: Caller;
    response: ServerResponse;
    requestId: string;
    body: ChatCompletionRequest | CompletionRequest;
    kind: "chat" | "text";
  }): Promise<void> {
    const { response, body } = job;
    const request =
      job.kind === "chat"
        ? chatRequestToGeneration(body as ChatCompletionRequest)
        : completionRequestToGeneration(body as CompletionRequest);
    const abort = new AbortController();
    response.on("close", () => {
      if (!response.writableFinished) abort.abort(new HelexaError("job_cancelled", "the client went away"));
    });
    const generation = await options.backend.generate({
      caller: job.caller,
      request,
      signal: abort.signal,
      requestId: job.requestId,
    });
    const parts = generation.parts[Symbol.asyncIterator]();
    // Wait for the first part before answering, so an early failure still gets its own status.
    const first = await parts.next();
    if (!first.done && first.value.type === "error") throw first.value.error;

    const format = new ChunkFormat(job.kind, job.requestId, body.model);
    const headers = { ...corsHeaders, ...generation.headers };
    const pending = first.done ? [] : [first.value];

    if (!body.stream) {
      let text = "";
      for await (const part of prepend(pending, parts)) {
        if (part.type === "text-delta") text += part.text;
        else if (part.type === "error") throw part.error;
        else {
          sendJson(response, 200, format.whole(text, part.finishReason, part.usage), headers);
          return;
        }
      }
      throw new HelexaError("upstream_error", "the generation ended without finishing");
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const events = new ServerSentEvents(response, headers);
    if (job.kind === "chat") await events.send(format.chatRole(includeUsage));
    try {
      for await (const part of prepend(pending, parts)) {
        if (part.type === "text-delta") {
          if (part.text) await events.send(format.delta(part.text, includeUsage));
        } else if (part.type === "error") {
          throw part.error;
        } else {
          await events.send(format.finish(part.finishReason, includeUsage));
          if (includeUsage) await events.send(format.usageChunk(part.usage));
          events.end();
          return;
        }
      }
      throw new HelexaError("upstream_error", "the generation ended without finishing");
    } catch (error) {
      // Headers are gone: the error travels as an event, the way OpenAI's API reports one mid-stream.
      if (!response.destroyed) {
        await events.send(toHttpError(error).envelope);
        response.end();
      }
      if (!HelexaError.is(error)) options.onError?.(error, job.requestId);
    }
  }
}

const endpoints: Record<string, string> = {
  "/v1/models": "GET",
  "/v1/chat/completions": "POST",
  "/v1/completions": "POST",
};

const corsHeaders: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, content-type, x-request-id",
  "access-control-allow-methods": "GET, POST, OPTIONS",
};

/** The parts already read, then the rest; leaving early closes the source too, so its cleanup runs. */
async function* prepend(first: StreamPart[], rest: AsyncIterator<StreamPart>): AsyncIterable<StreamPart> {
  try {
    yield* first;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

function validate<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HelexaError("invalid_request", "the request body must be a JSON object");
  }
  const result = schema.safeParse(body);
  if (!result.success) {
    const { message, param } = describeZodError(result.error);
    throw new HelexaError("invalid_request", `Invalid request: ${message}`, { param });
  }
  return result.data;
}

async function readJson(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new HelexaError("invalid_request", `the request body is over ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new HelexaError("invalid_request", "the request body is empty: send JSON");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HelexaError(
      "invalid_request",
      `the request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  if (response.headersSent) return;
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    ...corsHeaders,
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
  response.end(payload);
}

function sendError(response: ServerResponse, error: unknown): void {
  if (response.destroyed) return;
  const http = toHttpError(error);
  if (response.headersSent) {
    response.end();
    return;
  }
  sendJson(response, http.status, http.envelope, http.headers);
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first && /^[\w.:-]{1,100}$/.test(first) ? first : undefined;
}

function openaiUsage(usage: Usage): OpenAIUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

function openaiFinishReason(reason: FinishReason): string {
  return reason === "cancelled" ? "stop" : reason;
}

/** The shapes of OpenAI's answers for one request. */
class ChunkFormat {
  readonly #id: string;
  readonly #created = Math.floor(Date.now() / 1000);

  constructor(
    readonly kind: "chat" | "text",
    requestId: string,
    readonly model: string,
  ) {
    this.#id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${requestId}`;
  }

  #chunk(choice: Record<string, unknown>, includeUsage: boolean) {
    const base = {
      id: this.#id,
      object: this.kind === "chat" ? "chat.completion.chunk" : "text_completion",
      created: this.#created,
      model: this.model,
      choices: [{ index: 0, ...choice }],
    };
    return includeUsage ? { ...base, usage: null } : base;
  }

  chatRole(includeUsage: boolean) {
    return this.#chunk(
      { delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
      includeUsage,
    );
  }

  delta(text: string, includeUsage: boolean) {
    return this.kind === "chat"
      ? this.#chunk({ delta: { content: text }, logprobs: null, finish_reason: null }, includeUsage)
      : this.#chunk({ text, logprobs: null, finish_reason: null }, includeUsage);
  }

  finish(reason: FinishReason, includeUsage: boolean) {
    const finish_reason = openaiFinishReason(reason);
    return this.kind === "chat"
      ? this.#chunk({ delta: {}, logprobs: null, finish_reason }, includeUsage)
      : this.#chunk({ text: "", logprobs: null, finish_reason }, includeUsage);
  }

  usageChunk(usage: Usage) {
    return {
      id: this.#id,
      object: this.kind === "chat" ? "chat.completion.chunk" : "text_completion",
      created: this.#created,
      model: this.model,
      choices: [],
      usage: openaiUsage(usage),
    };
  }

  whole(text: string, reason: FinishReason, usage: Usage) {
    const finish_reason = openaiFinishReason(reason);
    const choice =
      this.kind === "chat"
        ? {
            index: 0,
            message: { role: "assistant", content: text, refusal: null },
            logprobs: null,
            finish_reason,
          }
        : { index: 0, text, logprobs: null, finish_reason };
    return {
      id: this.#id,
      object: this.kind === "chat" ? "chat.completion" : "text_completion",
      created: this.#created,
      model: this.model,
      choices: [choice],
      usage: openaiUsage(usage),
    };
  }
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// One streaming request of the gateway load test, read with plain fetch, and the lateness of each token it got.

/** What one stream saw: when each synthetic token (` t<i>`) arrived, and how the stream ended. */
export interface LoadStreamResult {
  startAt: number;
  headersAt: number | null;
  endAt: number;
  status: number | null;
  /** performance.now() of the network chunk that carried each token, in arrival order. */
  arrivals: number[];
  /** The index the synthetic runtime wrote into each token (` t17` is 17). */
  tokenIndices: number[];
  finishReason: string | null;
  completionTokens: number | null;
  done: boolean;
  error: string | null;
}

export interface LoadStreamRequest {
  url: string;
  apiKey: string;
  model: string;
  prompt: string;
  maxTokens: number;
  signal: AbortSignal;
}

const tokenPattern = / t(\d+)/g;

export function emptyResult(): LoadStreamResult {
  return {
    startAt: performance.now(),
    headersAt: null,
    endAt: 0,
    status: null,
    arrivals: [],
    tokenIndices: [],
    finishReason: null,
    completionTokens: null,
    done: false,
    error: null,
  };
}

/** Reads one chat completion stream with fetch and a minimal server-sent-events reader. */
export async function runFetchStream(request: LoadStreamRequest): Promise<LoadStreamResult> {
  const result = emptyResult();
  try {
    const response = await fetch(request.url, {
      method: "POST",
      headers: { authorization: `Bearer ${request.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: request.model,
        messages: [{ role: "user", content: request.prompt }],
        max_tokens: request.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      }),
      signal: request.signal,
    });
    result.status = response.status;
    result.headersAt = performance.now();
    if (!response.ok || !response.body) {
      result.error = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
      result.endAt = performance.now();
      return result;
    }
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      const now = performance.now();
      buffer += decoder.decode(chunk, { stream: true });
      let boundary = buffer.indexOf("\n\n");
      while (boundary !== -1) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf("\n\n");
        if (event.startsWith("data: ")) readEvent(event.slice(6), now, result);
      }
    }
  } catch (error) {
    result.error ??= describeError(error);
  }
  result.endAt = performance.now();
  return result;
}

/** fetch's own message is only "fetch failed"; the cause says what failed (ECONNRESET, a timeout). */
export function describeError(error: unknown): string {
  const message = (error as Error).message;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause ? `${message}: ${cause.code ?? ""} ${cause.message ?? ""}`.trim() : message;
}

/** One SSE data payload of OpenAI's chat completion stream, recorded into the result. */
export function readEvent(data: string, now: number, result: LoadStreamResult): void {
  if (data === "[DONE]") {
    result.done = true;
    return;
  }
  const json = JSON.parse(data) as {
    error?: { message?: string };
    choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
    usage?: { completion_tokens?: number } | null;
  };
  if (json.error) {
    result.error = json.error.message ?? "error event";
    return;
  }
  const choice = json.choices?.[0];
  if (choice?.delta?.content) recordTokens(choice.delta.content, now, result);
  if (choice?.finish_reason) result.finishReason = choice.finish_reason;
  if (json.usage?.completion_tokens !== undefined) result.completionTokens = json.usage.completion_tokens;
}

export function recordTokens(text: string, now: number, result: LoadStreamResult): void {
  for (const match of text.matchAll(tokenPattern)) {
    result.arrivals.push(now);
    result.tokenIndices.push(Number(match[1]));
  }
}

/** Whether the stream got everything: every token 0..maxTokens-1 in order, a `length` finish, usage and [DONE]. */
export function streamComplete(result: LoadStreamResult, maxTokens: number, sdk = false): boolean {
  return (
    result.status === 200 &&
    result.error === null &&
    (result.done || sdk) &&
    result.finishReason === "length" &&
    result.completionTokens === maxTokens &&
    result.tokenIndices.length === maxTokens &&
    result.tokenIndices.every((index, position) => index === position)
  );
}

/**
 * How late each token came, in ms: token i is due `i * intervalMs` after the stream's own start in the
 * runtime, which the client cannot see; the stream's least delayed token stands in for it (its arrival
 * minus its due offset), so the figure is what the fabric added on top of its quickest passage.
 */
export function addedLatencies(result: LoadStreamResult, intervalMs: number): number[] {
  const { arrivals, tokenIndices } = result;
  if (arrivals.length === 0) return [];
  let base = Number.POSITIVE_INFINITY;
  for (let k = 0; k < arrivals.length; k++) {
    base = Math.min(base, (arrivals[k] as number) - (tokenIndices[k] as number) * intervalMs);
  }
  return arrivals.map((arrival, k) => arrival - (tokenIndices[k] as number) * intervalMs - base);
}

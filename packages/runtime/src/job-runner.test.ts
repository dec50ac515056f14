// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the JobRunner: the gateway's request id in its log lines, token ids passed on, and draining (running jobs end, new ones are refused).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeMessage,
  encodeMessage,
  type JobStart,
  type NeuronChannelMessage,
  neuronChannelMessageSchema,
} from "@helexa/protocol";
import { JobRunner, type JobRunnerLog } from "./job-runner.js";
import {
  generateFromStream,
  type LanguageModelRuntime,
  RUNTIME_SPECIFICATION_VERSION,
  type StreamPart,
} from "./runtime.js";

/** A runtime that streams `tokens` one-letter deltas, each after `release` lets one through. */
function gatedRuntime(tokens: number): { runtime: LanguageModelRuntime; release: () => void } {
  const waiting: Array<() => void> = [];
  let credit = 0;
  const next = () =>
    new Promise<void>((resolve) => {
      if (credit > 0) {
        credit -= 1;
        resolve();
      } else waiting.push(resolve);
    });
  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "test",
    engine: "test",
    slots: 4,
    models: () => [{ id: "m", contextLength: 64 }],
    async *doStream(): AsyncIterable<StreamPart> {
      for (let index = 1; index <= tokens; index++) {
        await next();
        yield { type: "text-delta", text: "a", usage: { promptTokens: 1, completionTokens: index } };
      }
      yield { type: "finish", finishReason: "length", usage: { promptTokens: 1, completionTokens: tokens } };
    },
    doGenerate: (options) => generateFromStream(runtime, options),
    async [Symbol.asyncDispose]() {},
  };
  const release = () => {
    const resolve = waiting.shift();
    if (resolve) resolve();
    else credit += 1;
  };
  return { runtime, release };
}

function jobStart(jobId: string, requestId?: string): string {
  const message: JobStart = {
    type: "job.start",
    jobId,
    ...(requestId ? { requestId } : {}),
    request: { model: "m", input: { kind: "text", prompt: "hi" }, sampling: { maxTokens: 3 } },
  };
  return encodeMessage(message);
}

function harness(tokens: number) {
  const { runtime, release } = gatedRuntime(tokens);
  const lines: Array<Record<string, unknown>> = [];
  const sent: NeuronChannelMessage[] = [];
  const record = (event: string, fields: Record<string, unknown> = {}) => lines.push({ event, ...fields });
  const log: JobRunnerLog = { info: record, warn: record };
  const runner = new JobRunner({
    runtime,
    log,
    send: (raw) => {
      sent.push(decodeMessage(neuronChannelMessageSchema, raw));
    },
  });
  const ended = (jobId: string) =>
    sent.find((message) => message.jobId === jobId && message.type !== "job.delta");
  return { runner, release, lines, sent, ended };
}

async function until(check: () => boolean): Promise<void> {
  for (let tries = 0; tries < 200 && !check(); tries++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(check(), "timed out");
}

test("job.started and job.finished name the job and the gateway's request id", async () => {
  const { runner, release, lines, ended } = harness(2);
  runner.handle(jobStart("job-1", "req-abc"));
  release();
  release();
  await until(() => lines.some((line) => line.event === "job.finished"));
  assert.equal(ended("job-1")?.type, "job.end");
  const started = lines.find((line) => line.event === "job.started");
  const finished = lines.find((line) => line.event === "job.finished");
  assert.equal(started?.jobId, "job-1");
  assert.equal(started?.requestId, "req-abc");
  assert.equal(started?.model, "m");
  assert.equal(finished?.jobId, "job-1");
  assert.equal(finished?.requestId, "req-abc");
  assert.equal(finished?.status, "completed");
  assert.equal(finished?.tokens, 2);
  assert.equal(typeof finished?.durationMs, "number");
});

test("draining lets the running job finish and refuses a new one", async () => {
  const { runner, release, ended, lines } = harness(3);
  runner.handle(jobStart("running", "req-running"));
  release();
  let drained = false;
  const draining = runner.drain().then(() => {
    drained = true;
  });
  assert.equal(runner.draining, true);
  runner.handle(jobStart("late", "req-late"));
  await until(() => ended("late") !== undefined);
  const refused = ended("late");
  assert.equal(refused?.type, "job.error");
  assert.equal(refused?.type === "job.error" ? refused.error.code : null, "no_capacity");
  assert.ok(lines.some((line) => line.event === "job.refused" && line.requestId === "req-late"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(drained, false, "the running job is not finished yet");
  release();
  release();
  await draining;
  assert.equal(ended("running")?.type, "job.end");
  assert.equal(runner.activeJobs, 0);
});

test("draining with nothing running resolves at once", async () => {
  const { runner } = harness(1);
  await runner.drain();
  assert.equal(runner.activeJobs, 0);
});

test("token ids go out on job.delta, and a resumed job counts only the tokens generated here", async () => {
  const runtime: LanguageModelRuntime = {
    specificationVersion: RUNTIME_SPECIFICATION_VERSION,
    kind: "test",
    engine: "test",
    slots: 1,
    canResume: true,
    models: () => [{ id: "m", contextLength: 64 }],
    async *doStream({ request }): AsyncIterable<StreamPart> {
      const first = request.resume?.tokens.length ?? 0;
      for (let index = first; index < first + 2; index++) {
        yield {
          type: "text-delta",
          text: `t${index}`,
          tokens: [index],
          usage: { promptTokens: 1, completionTokens: index + 1 },
        };
      }
      yield { type: "finish", finishReason: "stop", usage: { promptTokens: 1, completionTokens: first + 2 } };
    },
    doGenerate: (options) => generateFromStream(runtime, options),
    async [Symbol.asyncDispose]() {},
  };
  const sent: NeuronChannelMessage[] = [];
  const done: Array<{ jobId: string; tokens: number }> = [];
  const runner = new JobRunner({
    runtime,
    send: (raw) => {
      sent.push(decodeMessage(neuronChannelMessageSchema, raw));
    },
    onJobDone: ({ jobId, tokens }) => done.push({ jobId, tokens }),
  });
  const request = { model: "m", input: { kind: "text" as const, prompt: "hi" }, sampling: {} };
  runner.handle(encodeMessage({ type: "job.start", jobId: "fresh", request }));
  runner.handle(
    encodeMessage({
      type: "job.start",
      jobId: "moved",
      request: { ...request, resume: { tokens: [0, 1, 2] } },
    }),
  );
  await until(() => done.length === 2);
  const deltas = (jobId: string) =>
    sent.flatMap((message) =>
      message.type === "job.delta" && message.jobId === jobId ? [message.tokens] : [],
    );
  assert.deepEqual(deltas("fresh"), [[0], [1]]);
  assert.deepEqual(deltas("moved"), [[3], [4]]);
  assert.deepEqual(
    done.sort((left, right) => left.jobId.localeCompare(right.jobId)),
    [
      { jobId: "fresh", tokens: 2 },
      { jobId: "moved", tokens: 2 },
    ],
  );
});

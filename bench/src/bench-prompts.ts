// SPDX-License-Identifier: PolyForm-Shield-1.0
// The prompts both paths answer: fixed, varied in length, so every run and both paths see the same work.

import type { ChatMessage } from "@helexa/protocol";

const subjects = [
  "the sea at night",
  "a lighthouse keeper who counts ships",
  "why bread rises",
  "the history of the printing press in three sentences",
  "a robot learning to paint",
  "how rivers carve valleys over millions of years",
  "a recipe for lentil soup",
  "the rules of chess for a child",
  "a city under snow",
  "what a compiler does, step by step, for someone who has never programmed",
];

/** The i-th prompt of a run; the same index always gives the same messages. */
export function benchPrompt(index: number): ChatMessage[] {
  const subject = subjects[index % subjects.length] as string;
  const round = Math.floor(index / subjects.length);
  const content =
    round === 0
      ? `Write a short note about ${subject}.`
      : `Write note ${round + 1} about ${subject}, in a new way.`;
  return [{ role: "user", content }];
}

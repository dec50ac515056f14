// SPDX-License-Identifier: PolyForm-Shield-1.0
// The tiny model's byte-level BPE vocabulary: 256 byte tokens, merges learned from a built-in English text, ChatML tokens.

import { byteToCharacter, toByteLevel } from "./byte-level-alphabet.js";

/** llama.cpp's token types (llama_token_type). */
export const tokenTypes = { normal: 1, control: 3 } as const;

export const ENDOFTEXT_TOKEN = "<|endoftext|>";
export const IM_START_TOKEN = "<|im_start|>";
export const IM_END_TOKEN = "<|im_end|>";

/** ChatML, the template the tiny model declares in tokenizer.chat_template. */
export const chatTemplate =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Plain English written for this file; its pair counts decide the merges. */
const trainingText = `
The fabric is a simple idea. Many people have a computer that sits idle for most of the day, and many
people want to run a language model without buying a large machine. When the two meet, the idle time of
one becomes the answer of another. A neuron is a small program that runs on a computer and serves a model.
It dials out to the cortex, says which models it can serve and how fast it is, and then waits for work.
The cortex is the part that keeps the books. It takes requests from clients, finds a neuron that has the
right model loaded and a free slot, and sends the job there. The tokens come back as they are made, and the
client sees them one by one, as if the model were running on the same machine.
Every request has a price, and every answer has a cost. The client holds enough credit for the longest
answer it asked for, and when the answer ends the hold is settled: the client pays for the tokens it got,
the operator of the neuron earns its share, and the rest keeps the lights on. If a neuron drops in the middle
of an answer, another one picks up from the last token that was sent, and nothing is charged twice.
A good system should be easy to start. You clone the code, run one command to install it and one more to
start it, and a small model answers your first question within a minute. There is a page in the browser
where you can chat with it, see how many credits you have, make a key for your own programs, and watch the
neurons that are connected right now. If you have a spare computer, you can start a neuron on it and let it
earn credits while you sleep.
Small models are fast and large models are wise. The fabric does not choose for you: the same request can
go to a tiny model for a quick draft or to a large one for a careful answer. What matters is that the answer
is correct, that it arrives quickly, and that nobody pays for work that was not done. We measure all three,
and we publish the numbers so that anyone can check them and try to do better.
Running a model means reading its weights from a file, putting them in memory, and then doing the same
small sums again and again for every token. A token is a piece of a word: a short word is often one token,
and a long word may be two or three. The model reads the tokens of the question, then writes the tokens of
the answer one at a time, and each new token depends on all the tokens before it. That is why a long answer
takes longer than a short one, and why the speed of a model is measured in tokens per second.
The tests of the project use a model that is made on the spot from a fixed seed. It knows nothing and says
nothing useful, but it says the same thing every time it is asked the same question, which is exactly what
a test needs. It is small enough to load in a moment and fast enough to answer in the blink of an eye, and
its words are made only of the plain letters, digits and marks that every terminal can show.
Anyone can run a neuron. The operator chooses which models to serve, how many requests may run at the same
time, and how much the neuron may use of the machine. When the operator wants the computer back, the neuron
finishes the answers it has started, tells the cortex that it is going away, and stops. Nothing is lost.
This text is here for one reason: to give the tokenizer of a tiny test model a few hundred merges of common
English pairs such as th, he, in, er, an and the, so that the words it reads and writes are split the way a
real model would split them. It is not meant to be read for its own sake, but it should be true all the same.
`;

const pretokenizePattern = /'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+/g;

export interface TinyVocabulary {
  /** Token strings in the byte-level alphabet, indexed by id. */
  tokens: string[];
  tokenTypes: number[];
  /** "left right" pairs in rank order. */
  merges: string[];
  endOfTextId: number;
  imStartId: number;
  imEndId: number;
  /** Ids whose text is printable ASCII (0x20 to 0x7e), the only tokens the tiny model ever picks. */
  printableAsciiIds: number[];
}

/** Learns up to `mergeCount` merges, BPE style: the most frequent adjacent pair first, ties broken by spelling. */
function learnMerges(mergeCount: number): Array<[string, string]> {
  const wordCounts = new Map<string, number>();
  for (const word of trainingText.replace(/\s+/g, " ").trim().match(pretokenizePattern) ?? []) {
    if (word.trim().length === 0) continue;
    wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  }
  const words = [...wordCounts.entries()]
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([word, count]) => ({ symbols: [...toByteLevel(word)], count }));

  const merges: Array<[string, string]> = [];
  while (merges.length < mergeCount) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let index = 0; index < symbols.length - 1; index++) {
        const pair = `${symbols[index]} ${symbols[index + 1]}`;
        pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 1;
    for (const [pair, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && best !== null && pair < best)) {
        best = pair;
        bestCount = count;
      }
    }
    // A pair seen once teaches nothing about English; stop before the merges become whole rare words.
    if (best === null) break;
    const [left, right] = best.split(" ") as [string, string];
    merges.push([left, right]);
    for (const word of words) {
      const merged: string[] = [];
      for (let index = 0; index < word.symbols.length; index++) {
        if (word.symbols[index] === left && word.symbols[index + 1] === right) {
          merged.push(left + right);
          index++;
        } else {
          merged.push(word.symbols[index]!);
        }
      }
      word.symbols = merged;
    }
  }
  return merges;
}

function isPrintableAsciiSpelling(token: string): boolean {
  for (const character of token) {
    const byte = byteToCharacter.indexOf(character);
    if (byte < 0x20 || byte > 0x7e) return false;
  }
  return true;
}

/** Builds the vocabulary: byte tokens in byte order, merge results in rank order, then the control tokens. */
export function buildTinyVocabulary(options: { mergeCount?: number } = {}): TinyVocabulary {
  const tokens = [...byteToCharacter];
  const known = new Set(tokens);
  const merges: string[] = [];
  for (const [left, right] of learnMerges(options.mergeCount ?? 400)) {
    merges.push(`${left} ${right}`);
    // Two different pairs can spell the same token ("a"+"bc", "ab"+"c"); the vocabulary keeps one.
    if (!known.has(left + right)) {
      known.add(left + right);
      tokens.push(left + right);
    }
  }
  const normalCount = tokens.length;
  tokens.push(ENDOFTEXT_TOKEN, IM_START_TOKEN, IM_END_TOKEN);
  const types = tokens.map((_, id) => (id < normalCount ? tokenTypes.normal : tokenTypes.control));
  const printableAsciiIds: number[] = [];
  for (let id = 0; id < normalCount; id++) {
    if (isPrintableAsciiSpelling(tokens[id]!)) printableAsciiIds.push(id);
  }
  return {
    tokens,
    tokenTypes: types,
    merges,
    endOfTextId: normalCount,
    imStartId: normalCount + 1,
    imEndId: normalCount + 2,
    printableAsciiIds,
  };
}

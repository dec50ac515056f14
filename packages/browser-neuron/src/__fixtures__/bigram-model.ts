// SPDX-License-Identifier: PolyForm-Shield-1.0
// Variants of the tiny model whose greedy answer follows a fixed token chain, to spell chosen bytes token by token.

import { type GgufTensorInput, readGgufHeader, writeGguf } from "@helexa/gguf";

/** Byte tokens are the tiny vocabulary's first 256 ids, in byte order: the token of byte b is b. */
const NEWLINE = 0x0a;

/** "é€ é€ …": "é" is two byte tokens, "€" three. A runtime decoding token by token would send broken characters. */
export const SPLIT_CHARACTERS: ReadonlyMap<number, number> = new Map([
  [NEWLINE, 0xc3],
  [0xc3, 0xa9],
  [0xa9, 0xe2],
  [0xe2, 0x82],
  [0x82, 0xac],
  [0xac, 0x20],
  [0x20, 0xc3],
]);

/** "\x80A\x80A…": a lone UTF-8 continuation byte, which random weights can pick and no text can hold. */
export const LONE_CONTINUATION_BYTES: ReadonlyMap<number, number> = new Map([
  [NEWLINE, 0x80],
  [0x80, 0x41],
  [0x41, 0x80],
]);

/**
 * Every layer's output is zeroed, so the last token alone decides the next: a bigram model. Each token of
 * the chain gets a dimension of its own in the embedding, and the output row of its successor reads that
 * dimension, by a wide margin. The chat template ends with "\n", so a chat answer starts at `next.get(0x0a)`.
 */
export async function writeBigramModel(options: {
  from: string;
  path: string;
  next: ReadonlyMap<number, number>;
}): Promise<void> {
  const header = await readGgufHeader(options.from);
  const embedding = header.tensors.find((tensor) => tensor.name === "token_embd.weight")!;
  const [width, vocabularySize] = embedding.dimensions as [number, number];
  const chain = [...new Set([...options.next.keys(), ...options.next.values()])];
  const tensors: GgufTensorInput[] = header.tensors.map((tensor) => {
    const data = new Float32Array(tensor.dimensions.reduce((product, dimension) => product * dimension, 1));
    if (tensor.name === "token_embd.weight") {
      for (let token = 0; token < vocabularySize; token++) {
        const place = chain.indexOf(token);
        data[token * width + 1 + (place < 0 ? chain.length : place)] = 1;
      }
    } else if (tensor.name === "output.weight") {
      for (const [from, to] of options.next) data[to * width + 1 + chain.indexOf(from)] = 1;
    } else if (tensor.name.endsWith("norm.weight")) {
      data.fill(1);
    }
    return {
      name: tensor.name,
      dimensions: tensor.dimensions,
      type: tensor.typeName as GgufTensorInput["type"],
      data,
    };
  });
  await writeGguf({ path: options.path, metadata: [...header.metadata], tensors });
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Generates a tiny llama-architecture GGUF with seeded weights whose greedy output is printable ASCII by construction.

import type { WritableTensorType } from "./ggml-type.js";
import type { GgufMetadataValue } from "./gguf-metadata.js";
import { type GgufTensorInput, writeGguf } from "./gguf-writer.js";
import { createSeededRandom, deriveSeed, type SeededRandom } from "./seeded-random.js";
import { buildTinyVocabulary, chatTemplate, type TinyVocabulary } from "./tiny-tokenizer.js";

export type TinyModelPreset = "test" | "bench";

interface TinyModelShape {
  embeddingLength: number;
  blockCount: number;
  feedForwardLength: number;
  headCount: number;
  contextLength: number;
  attentionType: WritableTensorType;
  feedForwardType: WritableTensorType;
}

/** "test" is small enough to load and answer in milliseconds; "bench" is ~34M parameters of q8_0. */
export const tinyModelPresets: Record<TinyModelPreset, TinyModelShape> = {
  test: {
    embeddingLength: 128,
    blockCount: 2,
    feedForwardLength: 352,
    headCount: 4,
    contextLength: 2048,
    // One of each type, so the test model exercises every encoding the writer has.
    attentionType: "f16",
    feedForwardType: "q8_0",
  },
  bench: {
    embeddingLength: 512,
    blockCount: 10,
    feedForwardLength: 1536,
    headCount: 8,
    contextLength: 2048,
    attentionType: "q8_0",
    feedForwardType: "q8_0",
  },
};

export interface GenerateTinyModelOptions {
  path: string;
  seed?: number;
  preset?: TinyModelPreset;
}

export interface TinyModelInfo {
  path: string;
  bytes: number;
  parameters: number;
  vocabularySize: number;
  contextLength: number;
}

/*
 * Why the output is printable ASCII.
 * Random weights alone would make greedy decoding pick lone UTF-8 continuation bytes or control tokens.
 * So residual dimension 0 is an anchor: every token embedding holds the same large value there, and row 0
 * of every attn_output and ffn_down is zero, so no layer ever changes it; the layer norms give it weight 0,
 * so the layers never see it. After the final RMSNorm that component is therefore positive, and large
 * while the rest of the residual stays within a few times the anchor. Column 0 of output.weight is +C for
 * the printable ASCII tokens and -C for every other token, with C eight times the largest norm of any
 * output row's random part: by Cauchy-Schwarz no random part can close the gap while the anchor keeps
 * more than an eighth of the normalized vector, so the argmax is always a printable ASCII token, and
 * sampling puts e^-100 or less on the rest. Among printable tokens the random part still decides, which
 * keeps the text varied.
 */
const ANCHOR_RATIO = 2;
const OUTPUT_MARGIN = 8;

function tokenEmbedding(shape: TinyModelShape, vocabularySize: number, random: SeededRandom): Float32Array {
  const width = shape.embeddingLength;
  const values = new Float32Array(width * vocabularySize);
  const anchor = ANCHOR_RATIO * Math.sqrt(width);
  for (let token = 0; token < vocabularySize; token++) {
    values[token * width] = anchor;
    for (let index = 1; index < width; index++) values[token * width + index] = random.centered(1);
  }
  return values;
}

/** A layer's input norm: ignores the anchor and scales the rest back to about unit size. */
function layerNorm(width: number): Float32Array {
  const values = new Float32Array(width).fill(Math.sqrt(1 + ANCHOR_RATIO * ANCHOR_RATIO));
  values[0] = 0;
  return values;
}

/** A weight of `rows` outputs by `columns` inputs; rows listed in `zeroRows` stay zero. */
function matrix(options: {
  columns: number;
  rows: number;
  random: SeededRandom;
  scale?: number;
  zeroRows?: number[];
}): Float32Array {
  const values = new Float32Array(options.columns * options.rows);
  const standardDeviation = (options.scale ?? 1) / Math.sqrt(options.columns);
  for (let index = 0; index < values.length; index++)
    values[index] = options.random.centered(standardDeviation);
  for (const row of options.zeroRows ?? [])
    values.fill(0, row * options.columns, (row + 1) * options.columns);
  return values;
}

function outputWeight(width: number, vocabulary: TinyVocabulary, random: SeededRandom): Float32Array {
  const vocabularySize = vocabulary.tokens.length;
  const values = matrix({ columns: width, rows: vocabularySize, random });
  let largestRowNorm = 0;
  for (let token = 0; token < vocabularySize; token++) {
    let squares = 0;
    for (let index = 1; index < width; index++) squares += values[token * width + index]! ** 2;
    largestRowNorm = Math.max(largestRowNorm, Math.sqrt(squares));
  }
  const anchorWeight = OUTPUT_MARGIN * largestRowNorm;
  const printable = new Set(vocabulary.printableAsciiIds);
  for (let token = 0; token < vocabularySize; token++) {
    values[token * width] = printable.has(token) ? anchorWeight : -anchorWeight;
  }
  return values;
}

function describeModel(shape: TinyModelShape, preset: TinyModelPreset, vocabulary: TinyVocabulary) {
  const metadata: Array<readonly [string, GgufMetadataValue]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: `helexa-tiny-${preset}` }],
    ["general.alignment", { type: "uint32", value: 32 }],
    ["llama.context_length", { type: "uint32", value: shape.contextLength }],
    ["llama.embedding_length", { type: "uint32", value: shape.embeddingLength }],
    ["llama.block_count", { type: "uint32", value: shape.blockCount }],
    ["llama.feed_forward_length", { type: "uint32", value: shape.feedForwardLength }],
    ["llama.rope.dimension_count", { type: "uint32", value: shape.embeddingLength / shape.headCount }],
    ["llama.attention.head_count", { type: "uint32", value: shape.headCount }],
    ["llama.attention.head_count_kv", { type: "uint32", value: shape.headCount }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "float32", value: 1e-5 }],
    ["llama.rope.freq_base", { type: "float32", value: 10000 }],
    ["llama.vocab_size", { type: "uint32", value: vocabulary.tokens.length }],
    ["tokenizer.ggml.model", { type: "string", value: "gpt2" }],
    ["tokenizer.ggml.pre", { type: "string", value: "gpt-2" }],
    ["tokenizer.ggml.tokens", { type: "array", itemType: "string", value: vocabulary.tokens }],
    ["tokenizer.ggml.token_type", { type: "array", itemType: "int32", value: vocabulary.tokenTypes }],
    ["tokenizer.ggml.merges", { type: "array", itemType: "string", value: vocabulary.merges }],
    ["tokenizer.ggml.bos_token_id", { type: "uint32", value: vocabulary.endOfTextId }],
    ["tokenizer.ggml.eos_token_id", { type: "uint32", value: vocabulary.imEndId }],
    ["tokenizer.ggml.padding_token_id", { type: "uint32", value: vocabulary.endOfTextId }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: chatTemplate }],
  ];
  return metadata;
}

function describeTensors(shape: TinyModelShape, vocabulary: TinyVocabulary, seed: number): GgufTensorInput[] {
  const width = shape.embeddingLength;
  const feedForward = shape.feedForwardLength;
  const vocabularySize = vocabulary.tokens.length;
  // Each tensor draws from its own stream, made only when the writer reaches it.
  const stream = (name: string) => createSeededRandom(deriveSeed(seed, name));
  const tensors: GgufTensorInput[] = [
    {
      name: "token_embd.weight",
      dimensions: [width, vocabularySize],
      type: "f16",
      data: () => tokenEmbedding(shape, vocabularySize, stream("token_embd.weight")),
    },
  ];
  for (let block = 0; block < shape.blockCount; block++) {
    const prefix = `blk.${block}`;
    const weight = (
      name: string,
      type: WritableTensorType,
      columns: number,
      rows: number,
      extra: { scale?: number; zeroRows?: number[] } = {},
    ): GgufTensorInput => ({
      name: `${prefix}.${name}.weight`,
      dimensions: [columns, rows],
      type,
      data: () => matrix({ columns, rows, random: stream(`${prefix}.${name}.weight`), ...extra }),
    });
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, dimensions: [width], type: "f32", data: () => layerNorm(width) },
      weight("attn_q", shape.attentionType, width, width, { scale: 2 }),
      weight("attn_k", shape.attentionType, width, width, { scale: 2 }),
      weight("attn_v", shape.attentionType, width, width),
      weight("attn_output", shape.attentionType, width, width, { zeroRows: [0] }),
      { name: `${prefix}.ffn_norm.weight`, dimensions: [width], type: "f32", data: () => layerNorm(width) },
      weight("ffn_gate", shape.feedForwardType, width, feedForward),
      weight("ffn_up", shape.feedForwardType, width, feedForward),
      weight("ffn_down", shape.feedForwardType, feedForward, width, { zeroRows: [0] }),
    );
  }
  tensors.push(
    {
      name: "output_norm.weight",
      dimensions: [width],
      type: "f32",
      data: () => new Float32Array(width).fill(1),
    },
    {
      name: "output.weight",
      dimensions: [width, vocabularySize],
      type: "f16",
      data: () => outputWeight(width, vocabulary, stream("output.weight")),
    },
  );
  return tensors;
}

/**
 * Writes a tiny llama-architecture model: seeded weights, a real byte-level BPE tokenizer and a ChatML
 * template. The same seed and preset give a byte-identical file; the file appears whole or not at all.
 */
export async function generateTinyModel(options: GenerateTinyModelOptions): Promise<TinyModelInfo> {
  const preset = options.preset ?? "test";
  const shape = tinyModelPresets[preset];
  if (!shape) throw new Error(`unknown tiny model preset ${JSON.stringify(preset)} (use "test" or "bench")`);
  const vocabulary = buildTinyVocabulary();
  const tensors = describeTensors(shape, vocabulary, options.seed ?? 0);
  const { bytes } = await writeGguf({
    path: options.path,
    metadata: describeModel(shape, preset, vocabulary),
    tensors,
  });
  const parameters = tensors.reduce(
    (total, tensor) => total + tensor.dimensions.reduce((product, dimension) => product * dimension, 1),
    0,
  );
  return {
    path: options.path,
    bytes,
    parameters,
    vocabularySize: vocabulary.tokens.length,
    contextLength: shape.contextLength,
  };
}

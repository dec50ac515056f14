// SPDX-License-Identifier: PolyForm-Shield-1.0
// Checks a GGUF header for what llama.cpp needs before it is handed the file: some gaps abort the process.

import type { GgufHeader } from "./gguf-header-reader.js";
import type { GgufMetadataValue } from "./gguf-metadata.js";

/** Raised when a GGUF file cannot be loaded by llama.cpp; the message names what is wrong. */
export class InvalidModelError extends Error {
  override readonly name = "InvalidModelError";
}

function describe(value: GgufMetadataValue): string {
  return value.type === "array" ? `an array of ${value.itemType}` : `a ${value.type}`;
}

function isCount(value: GgufMetadataValue | undefined): boolean {
  if (!value) return false;
  if (value.type === "array") {
    return value.value.length > 0 && value.value.every((item) => typeof item === "number" && item >= 0);
  }
  return typeof value.value === "number" && Number.isInteger(value.value) && value.value > 0;
}

function requireKey(header: GgufHeader, key: string): GgufMetadataValue {
  const value = header.metadata.get(key);
  if (!value) throw new InvalidModelError(`the model is missing the metadata key ${key}`);
  return value;
}

/** A positive whole number, or (as some architectures store per-layer values) an array of them. */
function requireCount(header: GgufHeader, key: string): void {
  const value = requireKey(header, key);
  if (!isCount(value)) {
    throw new InvalidModelError(
      `metadata key ${key} must be a positive whole number, got ${describe(value)}`,
    );
  }
}

function requireString(header: GgufHeader, key: string): string {
  const value = requireKey(header, key);
  if (value.type !== "string" || value.value.length === 0) {
    throw new InvalidModelError(`metadata key ${key} must be a non-empty string, got ${describe(value)}`);
  }
  return value.value;
}

function requireStringArray(header: GgufHeader, key: string): string[] {
  const value = requireKey(header, key);
  if (value.type !== "array" || value.itemType !== "string" || value.value.length === 0) {
    throw new InvalidModelError(
      `metadata key ${key} must be a non-empty array of strings, got ${describe(value)}`,
    );
  }
  return value.value;
}

function checkTokenId(header: GgufHeader, key: string, vocabularySize: number): void {
  const value = header.metadata.get(key);
  if (!value) return;
  if (
    value.type === "array" ||
    typeof value.value !== "number" ||
    value.value < 0 ||
    value.value >= vocabularySize
  ) {
    throw new InvalidModelError(
      `metadata key ${key} is not a token id below the vocabulary size ${vocabularySize}`,
    );
  }
}

/**
 * Throws an InvalidModelError naming the first problem that would stop llama.cpp from loading the file.
 * The check matters most for the keys whose absence llama.cpp meets with a GGML_ASSERT (feed_forward_length,
 * attention.head_count): that aborts the whole process instead of failing the load.
 *
 * The hyperparameter keys are read under the file's own architecture prefix (`llama.` for llama), so real
 * qwen2 or gemma files pass too; merges are required only for byte-level BPE (`gpt2`) tokenizers, since
 * SentencePiece vocabularies have none.
 */
export function validateLlamaModelHeader(header: GgufHeader): void {
  const architecture = requireString(header, "general.architecture");
  for (const suffix of [
    "context_length",
    "embedding_length",
    "block_count",
    "feed_forward_length",
    "attention.head_count",
  ]) {
    requireCount(header, `${architecture}.${suffix}`);
  }
  const rmsEpsilonKey = `${architecture}.attention.layer_norm_rms_epsilon`;
  const epsilonKey = `${architecture}.attention.layer_norm_epsilon`;
  const epsilon = header.metadata.get(rmsEpsilonKey) ?? header.metadata.get(epsilonKey);
  if (!epsilon) {
    throw new InvalidModelError(
      architecture === "llama"
        ? `the model is missing the metadata key ${rmsEpsilonKey}`
        : `the model is missing the metadata key ${rmsEpsilonKey} (or ${epsilonKey})`,
    );
  }
  if (architecture === "llama" && !header.metadata.has(rmsEpsilonKey)) {
    throw new InvalidModelError(`the model is missing the metadata key ${rmsEpsilonKey}`);
  }
  if (epsilon.type !== "float32" && epsilon.type !== "float64") {
    throw new InvalidModelError(`the layer norm epsilon must be a float, got ${describe(epsilon)}`);
  }

  const embeddingLength = header.metadata.get(`${architecture}.embedding_length`)?.value;
  const headCount = header.metadata.get(`${architecture}.attention.head_count`)?.value;
  if (
    typeof embeddingLength === "number" &&
    typeof headCount === "number" &&
    !header.metadata.has(`${architecture}.attention.key_length`) &&
    embeddingLength % headCount !== 0
  ) {
    throw new InvalidModelError(
      `${architecture}.embedding_length ${embeddingLength} is not a multiple of attention.head_count ${headCount}`,
    );
  }

  const tokenizerModel = requireString(header, "tokenizer.ggml.model");
  const tokens = requireStringArray(header, "tokenizer.ggml.tokens");
  if (tokenizerModel === "gpt2") requireStringArray(header, "tokenizer.ggml.merges");
  const tokenTypes = header.metadata.get("tokenizer.ggml.token_type");
  if (tokenTypes && (tokenTypes.type !== "array" || tokenTypes.value.length !== tokens.length)) {
    throw new InvalidModelError(
      `tokenizer.ggml.token_type must have one entry per token (${tokens.length}), got ${
        tokenTypes.type === "array" ? tokenTypes.value.length : describe(tokenTypes)
      }`,
    );
  }
  for (const key of ["bos", "eos", "eot", "padding", "unknown", "separator"]) {
    checkTokenId(header, `tokenizer.ggml.${key}_token_id`, tokens.length);
  }

  if (header.tensors.length === 0) throw new InvalidModelError("the model has no tensors");
  for (const tensor of header.tensors) {
    if (tensor.byteSize === null) {
      throw new InvalidModelError(
        tensor.typeName === null
          ? `tensor ${tensor.name} has unknown type ${tensor.type}`
          : `tensor ${tensor.name} has rows of ${tensor.dimensions[0]} values, not whole ${tensor.typeName} blocks`,
      );
    }
    if (tensor.offset % header.alignment !== 0) {
      throw new InvalidModelError(`tensor ${tensor.name} is not aligned to ${header.alignment} bytes`);
    }
    const end = header.dataOffset + tensor.offset + tensor.byteSize;
    if (end > header.fileSize) {
      throw new InvalidModelError(
        `tensor ${tensor.name} ends at byte ${end} but the file has only ${header.fileSize} bytes (incomplete download?)`,
      );
    }
  }
}

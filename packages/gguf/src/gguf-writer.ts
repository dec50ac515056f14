// SPDX-License-Identifier: PolyForm-Shield-1.0
// Writes a GGUF v3 file (metadata, tensor infos, aligned tensor data), atomically through a temporary file.

import { randomUUID } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { float32ToFloat16Bits } from "./float16.js";
import { tensorByteSize, type WritableTensorType, writableTensorTypeIds } from "./ggml-type.js";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufMetadataValue,
  type GgufScalarType,
  ggufValueTypeIds,
} from "./gguf-metadata.js";
import { quantizeQ8_0 } from "./quantize-q8-0.js";

export interface GgufTensorInput {
  name: string;
  /** ggml order: the row length first (a weight of n_out rows of n_in values is [n_in, n_out]). */
  dimensions: number[];
  type: WritableTensorType;
  /** The values, or a function that makes them when written, so a large model never sits whole in memory. */
  data: Float32Array | (() => Float32Array);
}

export interface WriteGgufOptions {
  path: string;
  /** Written in this order; `general.alignment` is added when absent. */
  metadata: ReadonlyArray<readonly [key: string, value: GgufMetadataValue]>;
  tensors: readonly GgufTensorInput[];
}

const utf8 = new TextEncoder();

/** Grows as the header is encoded. Every write reserves first: growing swaps the buffer and its view. */
class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): number {
    if (this.length + bytes > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  uint8(value: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
  }
  int8(value: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, value);
  }
  uint16(value: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
  }
  int16(value: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, value, true);
  }
  uint32(value: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
  }
  int32(value: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, value, true);
  }
  float32(value: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, value, true);
  }
  float64(value: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, value, true);
  }
  uint64(value: bigint | number): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), true);
  }
  int64(value: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, value, true);
  }
  bytes(value: Uint8Array): void {
    const at = this.reserve(value.length);
    this.buffer.set(value, at);
  }
  string(value: string): void {
    const encoded = utf8.encode(value);
    this.uint64(encoded.length);
    this.bytes(encoded);
  }
  zeros(count: number): void {
    const at = this.reserve(count);
    this.buffer.fill(0, at, this.length);
  }
  contents(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

function writeScalar(sink: ByteSink, type: GgufScalarType, value: number | bigint | boolean | string): void {
  switch (type) {
    case "uint8":
      sink.uint8(value as number);
      return;
    case "int8":
      sink.int8(value as number);
      return;
    case "uint16":
      sink.uint16(value as number);
      return;
    case "int16":
      sink.int16(value as number);
      return;
    case "uint32":
      sink.uint32(value as number);
      return;
    case "int32":
      sink.int32(value as number);
      return;
    case "float32":
      sink.float32(value as number);
      return;
    case "float64":
      sink.float64(value as number);
      return;
    case "uint64":
      sink.uint64(value as bigint);
      return;
    case "int64":
      sink.int64(value as bigint);
      return;
    case "bool":
      sink.uint8(value ? 1 : 0);
      return;
    case "string":
      sink.string(value as string);
      return;
  }
}

function writeMetadataValue(sink: ByteSink, entry: GgufMetadataValue): void {
  sink.uint32(ggufValueTypeIds[entry.type]);
  if (entry.type !== "array") {
    writeScalar(sink, entry.type, entry.value);
    return;
  }
  sink.uint32(ggufValueTypeIds[entry.itemType]);
  sink.uint64(entry.value.length);
  for (const item of entry.value) writeScalar(sink, entry.itemType, item);
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

function encodeTensor(tensor: GgufTensorInput, expectedBytes: number): Uint8Array {
  const values = typeof tensor.data === "function" ? tensor.data() : tensor.data;
  const expectedValues = tensor.dimensions.reduce((product, dimension) => product * dimension, 1);
  if (values.length !== expectedValues) {
    throw new Error(`tensor ${tensor.name}: ${values.length} values for dimensions [${tensor.dimensions}]`);
  }
  let bytes: Uint8Array;
  if (tensor.type === "q8_0") {
    bytes = quantizeQ8_0(values);
  } else if (tensor.type === "f16") {
    bytes = new Uint8Array(values.length * 2);
    const view = new DataView(bytes.buffer);
    for (let index = 0; index < values.length; index++) {
      view.setUint16(index * 2, float32ToFloat16Bits(values[index]!), true);
    }
  } else {
    bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let index = 0; index < values.length; index++) view.setFloat32(index * 4, values[index]!, true);
  }
  if (bytes.length !== expectedBytes) throw new Error(`tensor ${tensor.name}: encoded to an unexpected size`);
  return bytes;
}

/**
 * Writes a GGUF v3 file. It is written beside `path` under a temporary name and renamed over it at the
 * end, so a crash or a full disk never leaves a half-written model where a loader would find it.
 */
export async function writeGguf(options: WriteGgufOptions): Promise<{ bytes: number }> {
  const metadata = [...options.metadata];
  const alignmentEntry = metadata.find(([key]) => key === "general.alignment")?.[1];
  if (alignmentEntry && alignmentEntry.type !== "uint32")
    throw new Error("general.alignment must be a uint32");
  const alignment = alignmentEntry ? (alignmentEntry.value as number) : GGUF_DEFAULT_ALIGNMENT;
  if (!alignmentEntry) metadata.push(["general.alignment", { type: "uint32", value: alignment }]);

  const header = new ByteSink();
  header.bytes(new TextEncoder().encode(GGUF_MAGIC));
  header.uint32(3);
  header.uint64(options.tensors.length);
  header.uint64(metadata.length);
  for (const [key, value] of metadata) {
    header.string(key);
    writeMetadataValue(header, value);
  }

  const sizes: number[] = [];
  let dataOffset = 0;
  for (const tensor of options.tensors) {
    const size = tensorByteSize({ type: writableTensorTypeIds[tensor.type], dimensions: tensor.dimensions });
    if (size === null) {
      throw new Error(
        `tensor ${tensor.name}: row length ${tensor.dimensions[0]} does not fit ${tensor.type}`,
      );
    }
    header.string(tensor.name);
    header.uint32(tensor.dimensions.length);
    for (const dimension of tensor.dimensions) header.uint64(dimension);
    header.uint32(writableTensorTypeIds[tensor.type]);
    header.uint64(dataOffset);
    sizes.push(size);
    dataOffset = alignUp(dataOffset + size, alignment);
  }
  header.zeros(alignUp(header.length, alignment) - header.length);

  const temporaryPath = `${options.path}.${randomUUID()}.partial`;
  const file = await open(temporaryPath, "w");
  let written = 0;
  try {
    await file.write(header.contents());
    written += header.length;
    for (const [index, tensor] of options.tensors.entries()) {
      const bytes = encodeTensor(tensor, sizes[index]!);
      await file.write(bytes);
      written += bytes.length;
      const padding = alignUp(written, alignment) - written;
      // The last tensor is padded too, as gguf-py does: some readers size the data section in whole blocks.
      if (padding > 0) {
        await file.write(new Uint8Array(padding));
        written += padding;
      }
    }
    await file.sync();
    await file.close();
    await rename(temporaryPath, options.path);
  } catch (error) {
    await file.close().catch(() => {});
    await rm(temporaryPath, { force: true });
    throw error;
  }
  return { bytes: written };
}

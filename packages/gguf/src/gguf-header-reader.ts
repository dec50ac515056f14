// SPDX-License-Identifier: PolyForm-Shield-1.0
// Reads a GGUF file's header (metadata and tensor infos) without touching the weights.

import { type FileHandle, open } from "node:fs/promises";
import { ggmlTypeLayouts, tensorByteSize } from "./ggml-type.js";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufMetadataValue,
  type GgufScalarType,
  ggufValueTypeIds,
} from "./gguf-metadata.js";

export interface GgufTensorInfo {
  name: string;
  /** ggml order: the row length first. */
  dimensions: number[];
  /** ggml's type id (0 f32, 1 f16, 8 q8_0, ...). */
  type: number;
  /** The type's name where known ("q4_k"), else null. */
  typeName: string | null;
  /** Where the data starts, counted from the start of the data section. */
  offset: number;
  /** Bytes of data, or null when the type is unknown or the row is not whole blocks. */
  byteSize: number | null;
}

export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Where the data section starts in the file. */
  dataOffset: number;
  fileSize: number;
}

/** Raised for a file that is not a GGUF file or whose header is cut short or malformed. */
export class GgufFormatError extends Error {
  override readonly name = "GgufFormatError";
}

const valueTypeNames = new Map<number, GgufScalarType | "array">(
  Object.entries(ggufValueTypeIds).map(([name, id]) => [id, name as GgufScalarType | "array"]),
);

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Reads forward through the file in chunks, so a multi-gigabyte model costs a few header reads. */
class HeaderCursor {
  private buffer = new Uint8Array(0);
  private view = new DataView(this.buffer.buffer);
  /** File position of buffer[0]. */
  private bufferStart = 0;
  /** Position in the file of the next byte to read. */
  position = 0;

  constructor(
    private readonly file: FileHandle,
    readonly fileSize: number,
  ) {}

  /** Makes `count` bytes from the position available; awaits only when the buffer runs out. */
  /** Whether `count` bytes from the position are already in the buffer, so they can be read without waiting. */
  buffered(count: number): boolean {
    return this.position + count <= this.bufferStart + this.buffer.length;
  }

  async need(count: number, what: string): Promise<void> {
    if (this.position + count > this.fileSize) {
      throw new GgufFormatError(
        `header cut short: ${what} needs ${count} bytes at offset ${this.position}, the file is ${this.fileSize} bytes`,
      );
    }
    const end = this.bufferStart + this.buffer.length;
    if (this.position + count <= end) return;
    const size = Math.min(Math.max(count, 1 << 20), this.fileSize - this.position);
    const chunk = new Uint8Array(size);
    const { bytesRead } = await this.file.read(chunk, 0, size, this.position);
    if (bytesRead < count) throw new GgufFormatError(`could not read ${what} at offset ${this.position}`);
    this.buffer = chunk.subarray(0, bytesRead);
    this.view = new DataView(this.buffer.buffer, 0, bytesRead);
    this.bufferStart = this.position;
  }

  private advance(count: number): number {
    const at = this.position - this.bufferStart;
    this.position += count;
    return at;
  }

  uint8(): number {
    return this.view.getUint8(this.advance(1));
  }
  int8(): number {
    return this.view.getInt8(this.advance(1));
  }
  uint16(): number {
    return this.view.getUint16(this.advance(2), true);
  }
  int16(): number {
    return this.view.getInt16(this.advance(2), true);
  }
  uint32(): number {
    return this.view.getUint32(this.advance(4), true);
  }
  int32(): number {
    return this.view.getInt32(this.advance(4), true);
  }
  float32(): number {
    return this.view.getFloat32(this.advance(4), true);
  }
  float64(): number {
    return this.view.getFloat64(this.advance(8), true);
  }
  uint64(): bigint {
    return this.view.getBigUint64(this.advance(8), true);
  }
  int64(): bigint {
    return this.view.getBigInt64(this.advance(8), true);
  }
  bytes(count: number): Uint8Array {
    const at = this.advance(count);
    return this.buffer.subarray(at, at + count);
  }

  /** A uint64 that must be a count or size no larger than the rest of the file. */
  async size(what: string): Promise<number> {
    await this.need(8, what);
    const value = this.uint64();
    if (value > BigInt(this.fileSize - this.position)) {
      throw new GgufFormatError(
        `${what} is ${value}, more than the ${this.fileSize - this.position} bytes left`,
      );
    }
    return Number(value);
  }

  async string(what: string): Promise<string> {
    const length = await this.size(`${what} length`);
    await this.need(length, what);
    return utf8.decode(this.bytes(length));
  }

  /** A string read from the buffer alone, or null (nothing consumed) when it reaches past it. */
  bufferedString(): string | null {
    if (!this.buffered(8)) return null;
    const at = this.position - this.bufferStart;
    const length = this.view.getBigUint64(at, true);
    if (length > BigInt(this.buffer.length - at - 8)) return null;
    this.position += 8;
    return utf8.decode(this.bytes(Number(length)));
  }
}

const scalarSizes: Record<Exclude<GgufScalarType, "string">, number> = {
  uint8: 1,
  int8: 1,
  bool: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  uint64: 8,
  int64: 8,
  float64: 8,
};

async function readScalar(cursor: HeaderCursor, type: GgufScalarType, what: string) {
  if (type === "string") return cursor.string(what);
  await cursor.need(scalarSizes[type], what);
  return readBufferedScalar(cursor, type);
}

function readBufferedScalar(
  cursor: HeaderCursor,
  type: Exclude<GgufScalarType, "string">,
): number | bigint | boolean {
  switch (type) {
    case "uint8":
      return cursor.uint8();
    case "int8":
      return cursor.int8();
    case "bool":
      return cursor.uint8() !== 0;
    case "uint16":
      return cursor.uint16();
    case "int16":
      return cursor.int16();
    case "uint32":
      return cursor.uint32();
    case "int32":
      return cursor.int32();
    case "float32":
      return cursor.float32();
    case "float64":
      return cursor.float64();
    case "uint64":
      return cursor.uint64();
    case "int64":
      return cursor.int64();
  }
}

async function readValueType(cursor: HeaderCursor, what: string): Promise<GgufScalarType | "array"> {
  await cursor.need(4, what);
  const id = cursor.uint32();
  const type = valueTypeNames.get(id);
  if (!type) throw new GgufFormatError(`${what} has unknown value type ${id}`);
  return type;
}

async function readMetadataValue(cursor: HeaderCursor, key: string): Promise<GgufMetadataValue> {
  const type = await readValueType(cursor, `type of ${key}`);
  if (type !== "array") {
    return { type, value: await readScalar(cursor, type, key) } as GgufMetadataValue;
  }
  const itemType = await readValueType(cursor, `item type of ${key}`);
  if (itemType === "array") throw new GgufFormatError(`${key} is an array of arrays, which is not supported`);
  const count = await cursor.size(`length of ${key}`);
  const value: unknown[] = new Array(count);
  // Vocabularies hold 100,000 and more items: read from the buffer without an await per item where possible.
  if (itemType === "string") {
    for (let index = 0; index < count; index++) {
      value[index] = cursor.bufferedString() ?? (await cursor.string(key));
    }
  } else {
    await cursor.need(count * scalarSizes[itemType], key);
    for (let index = 0; index < count; index++) value[index] = readBufferedScalar(cursor, itemType);
  }
  return { type, itemType, value } as GgufMetadataValue;
}

/**
 * Reads the header of a GGUF file: version, metadata and tensor infos. Only the header is read, so it is
 * cheap on a multi-gigabyte model and safe on a damaged one: every length is checked against the file.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const file = await open(path, "r");
  try {
    const { size: fileSize } = await file.stat();
    const cursor = new HeaderCursor(file, fileSize);
    await cursor.need(4, "magic");
    const magic = new TextDecoder().decode(cursor.bytes(4));
    if (magic !== GGUF_MAGIC)
      throw new GgufFormatError(`not a GGUF file (starts with ${JSON.stringify(magic)})`);
    await cursor.need(4, "version");
    const version = cursor.uint32();
    if (version !== 2 && version !== 3) throw new GgufFormatError(`unsupported GGUF version ${version}`);
    const tensorCount = await cursor.size("tensor count");
    const metadataCount = await cursor.size("metadata count");

    const metadata = new Map<string, GgufMetadataValue>();
    for (let index = 0; index < metadataCount; index++) {
      const key = await cursor.string(`metadata key ${index}`);
      metadata.set(key, await readMetadataValue(cursor, key));
    }

    const alignmentValue = metadata.get("general.alignment");
    let alignment = GGUF_DEFAULT_ALIGNMENT;
    if (alignmentValue) {
      if (alignmentValue.type !== "uint32" || alignmentValue.value === 0) {
        throw new GgufFormatError("general.alignment must be a non-zero uint32");
      }
      alignment = alignmentValue.value;
    }

    const tensors: GgufTensorInfo[] = [];
    for (let index = 0; index < tensorCount; index++) {
      const name = await cursor.string(`tensor ${index} name`);
      await cursor.need(4, `dimension count of ${name}`);
      const dimensionCount = cursor.uint32();
      if (dimensionCount > 4) throw new GgufFormatError(`tensor ${name} has ${dimensionCount} dimensions`);
      const dimensions: number[] = [];
      for (let dimension = 0; dimension < dimensionCount; dimension++) {
        await cursor.need(8, `dimensions of ${name}`);
        const value = cursor.uint64();
        if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufFormatError(`tensor ${name} is too large`);
        dimensions.push(Number(value));
      }
      await cursor.need(12, `type and offset of ${name}`);
      const type = cursor.uint32();
      const offset = cursor.uint64();
      // Whether the data fits in the file is the pre-load check's question; here only its size must be sane.
      if (offset > BigInt(Number.MAX_SAFE_INTEGER))
        throw new GgufFormatError(`tensor ${name} has offset ${offset}`);
      tensors.push({
        name,
        dimensions,
        type,
        typeName: ggmlTypeLayouts.get(type)?.name ?? null,
        offset: Number(offset),
        byteSize: tensorByteSize({ type, dimensions }),
      });
    }
    const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
    return { version, metadata, tensors, alignment, dataOffset, fileSize };
  } finally {
    await file.close();
  }
}

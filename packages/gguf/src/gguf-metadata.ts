// SPDX-License-Identifier: PolyForm-Shield-1.0
// A GGUF metadata value with its type, as the writer takes it and the reader gives it back.

export type GgufNumberType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "float64";
export type GgufBigIntType = "uint64" | "int64";
export type GgufScalarType = GgufNumberType | GgufBigIntType | "bool" | "string";

export type GgufMetadataValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: GgufNumberType; value: number[] }
  | { type: "array"; itemType: GgufBigIntType; value: bigint[] }
  | { type: "array"; itemType: "bool"; value: boolean[] }
  | { type: "array"; itemType: "string"; value: string[] };

/** The ids GGUF gives its value types (gguf.h's gguf_type). */
export const ggufValueTypeIds = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const satisfies Record<GgufScalarType | "array", number>;

export const GGUF_MAGIC = "GGUF";
export const GGUF_DEFAULT_ALIGNMENT = 32;

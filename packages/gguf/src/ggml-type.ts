// SPDX-License-Identifier: PolyForm-Shield-1.0
// ggml's tensor types: their ids in a GGUF file and how many bytes a row of each takes.

/** The types this package can write. */
export type WritableTensorType = "f32" | "f16" | "q8_0";

interface GgmlTypeLayout {
  name: string;
  /** Values per block; a row's length must be a multiple of it. */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
}

/**
 * Every type llama.cpp reads (ggml.c's type_traits, checked against node-llama-cpp 3.22.1's binding), so a
 * header check can size any real model's tensors. Retired ids (4, 5, 31-33, 36-38) are left out on purpose.
 */
export const ggmlTypeLayouts: ReadonlyMap<number, GgmlTypeLayout> = new Map([
  [0, { name: "f32", blockSize: 1, blockBytes: 4 }],
  [1, { name: "f16", blockSize: 1, blockBytes: 2 }],
  [2, { name: "q4_0", blockSize: 32, blockBytes: 18 }],
  [3, { name: "q4_1", blockSize: 32, blockBytes: 20 }],
  [6, { name: "q5_0", blockSize: 32, blockBytes: 22 }],
  [7, { name: "q5_1", blockSize: 32, blockBytes: 24 }],
  [8, { name: "q8_0", blockSize: 32, blockBytes: 34 }],
  [9, { name: "q8_1", blockSize: 32, blockBytes: 36 }],
  [10, { name: "q2_k", blockSize: 256, blockBytes: 84 }],
  [11, { name: "q3_k", blockSize: 256, blockBytes: 110 }],
  [12, { name: "q4_k", blockSize: 256, blockBytes: 144 }],
  [13, { name: "q5_k", blockSize: 256, blockBytes: 176 }],
  [14, { name: "q6_k", blockSize: 256, blockBytes: 210 }],
  [15, { name: "q8_k", blockSize: 256, blockBytes: 292 }],
  [16, { name: "iq2_xxs", blockSize: 256, blockBytes: 66 }],
  [17, { name: "iq2_xs", blockSize: 256, blockBytes: 74 }],
  [18, { name: "iq3_xxs", blockSize: 256, blockBytes: 98 }],
  [19, { name: "iq1_s", blockSize: 256, blockBytes: 50 }],
  [20, { name: "iq4_nl", blockSize: 32, blockBytes: 18 }],
  [21, { name: "iq3_s", blockSize: 256, blockBytes: 110 }],
  [22, { name: "iq2_s", blockSize: 256, blockBytes: 82 }],
  [23, { name: "iq4_xs", blockSize: 256, blockBytes: 136 }],
  [24, { name: "i8", blockSize: 1, blockBytes: 1 }],
  [25, { name: "i16", blockSize: 1, blockBytes: 2 }],
  [26, { name: "i32", blockSize: 1, blockBytes: 4 }],
  [27, { name: "i64", blockSize: 1, blockBytes: 8 }],
  [28, { name: "f64", blockSize: 1, blockBytes: 8 }],
  [29, { name: "iq1_m", blockSize: 256, blockBytes: 56 }],
  [30, { name: "bf16", blockSize: 1, blockBytes: 2 }],
  [34, { name: "tq1_0", blockSize: 256, blockBytes: 54 }],
  [35, { name: "tq2_0", blockSize: 256, blockBytes: 66 }],
  [39, { name: "mxfp4", blockSize: 32, blockBytes: 17 }],
  [40, { name: "nvfp4", blockSize: 64, blockBytes: 36 }],
  [41, { name: "q1_0", blockSize: 128, blockBytes: 18 }],
  [42, { name: "q2_0", blockSize: 64, blockBytes: 18 }],
]);

export const writableTensorTypeIds: Record<WritableTensorType, number> = { f32: 0, f16: 1, q8_0: 8 };

/**
 * Bytes a tensor's data takes, or null when the type is unknown or the row length is not a whole number
 * of blocks (either makes the file unreadable by llama.cpp).
 */
export function tensorByteSize(options: { type: number; dimensions: readonly number[] }): number | null {
  const layout = ggmlTypeLayouts.get(options.type);
  const rowLength = options.dimensions[0] ?? 1;
  if (!layout || rowLength % layout.blockSize !== 0) return null;
  let rows = 1;
  for (const dimension of options.dimensions.slice(1)) rows *= dimension;
  return (rowLength / layout.blockSize) * layout.blockBytes * rows;
}

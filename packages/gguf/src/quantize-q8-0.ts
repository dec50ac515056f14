// SPDX-License-Identifier: PolyForm-Shield-1.0
// ggml's q8_0 blocks: 32 values as one half-precision scale and 32 signed bytes.

import { float16BitsToFloat32, float32ToFloat16Bits } from "./float16.js";

export const Q8_0_BLOCK_SIZE = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_SIZE;

/** C's roundf: halves go away from zero (Math.round sends -2.5 to -2). */
function roundHalfAwayFromZero(value: number): number {
  return value < 0 ? -Math.floor(-value + 0.5) : Math.floor(value + 0.5);
}

/** Quantizes as ggml's quantize_row_q8_0_ref does: d = max|x| / 127, q = round(x / d). */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK_SIZE !== 0) {
    throw new Error(`q8_0 needs a multiple of ${Q8_0_BLOCK_SIZE} values, got ${values.length}`);
  }
  const blocks = values.length / Q8_0_BLOCK_SIZE;
  const bytes = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(bytes.buffer);
  for (let block = 0; block < blocks; block++) {
    const start = block * Q8_0_BLOCK_SIZE;
    let maximum = 0;
    for (let index = 0; index < Q8_0_BLOCK_SIZE; index++) {
      maximum = Math.max(maximum, Math.abs(values[start + index]!));
    }
    // ggml computes in float32; rounding here keeps the quantized bytes the same as its own.
    const scale = Math.fround(maximum / 127);
    const inverse = scale === 0 ? 0 : Math.fround(1 / scale);
    const offset = block * Q8_0_BLOCK_BYTES;
    view.setUint16(offset, float32ToFloat16Bits(scale), true);
    for (let index = 0; index < Q8_0_BLOCK_SIZE; index++) {
      const quantized = roundHalfAwayFromZero(Math.fround(values[start + index]! * inverse));
      view.setInt8(offset + 2 + index, Math.max(-127, Math.min(127, quantized)));
    }
  }
  return bytes;
}

/** The values q8_0 bytes stand for. */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  if (bytes.length % Q8_0_BLOCK_BYTES !== 0) {
    throw new Error(`q8_0 data must be whole ${Q8_0_BLOCK_BYTES}-byte blocks, got ${bytes.length} bytes`);
  }
  const blocks = bytes.length / Q8_0_BLOCK_BYTES;
  const values = new Float32Array(blocks * Q8_0_BLOCK_SIZE);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let block = 0; block < blocks; block++) {
    const offset = block * Q8_0_BLOCK_BYTES;
    const scale = float16BitsToFloat32(view.getUint16(offset, true));
    for (let index = 0; index < Q8_0_BLOCK_SIZE; index++) {
      values[block * Q8_0_BLOCK_SIZE + index] = scale * view.getInt8(offset + 2 + index);
    }
  }
  return values;
}

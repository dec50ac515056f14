// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for q8_0 quantization.

import assert from "node:assert/strict";
import { test } from "node:test";
import { dequantizeQ8_0, Q8_0_BLOCK_BYTES, quantizeQ8_0 } from "./quantize-q8-0.js";
import { createSeededRandom } from "./seeded-random.js";

test("a round trip stays within half a quantization step (plus the scale's half-precision rounding)", () => {
  const random = createSeededRandom(7);
  const values = new Float32Array(32 * 64);
  for (let index = 0; index < values.length; index++)
    values[index] = random.centered(index % 7 === 0 ? 5 : 0.3);
  const bytes = quantizeQ8_0(values);
  assert.equal(bytes.length, 64 * Q8_0_BLOCK_BYTES);
  const restored = dequantizeQ8_0(bytes);
  for (let block = 0; block < 64; block++) {
    const slice = values.subarray(block * 32, block * 32 + 32);
    const maximum = Math.max(...Array.from(slice, Math.abs));
    const step = maximum / 127;
    for (let index = 0; index < 32; index++) {
      const error = Math.abs(restored[block * 32 + index]! - slice[index]!);
      assert.ok(error <= step / 2 + maximum * 2 ** -10, `block ${block} value ${index}: error ${error}`);
    }
  }
});

test("the largest value of a block maps to ±127 and a zero block to zeros", () => {
  const values = new Float32Array(64);
  values[3] = -2.5;
  values[4] = 1.25;
  const bytes = quantizeQ8_0(values);
  const view = new DataView(bytes.buffer);
  assert.equal(view.getInt8(2 + 3), -127);
  assert.equal(view.getInt8(2 + 4), 64, "1.25 / (2.5 / 127) = 63.5 rounds away from zero");
  assert.deepEqual([...bytes.subarray(Q8_0_BLOCK_BYTES)], new Array(Q8_0_BLOCK_BYTES).fill(0));
  assert.deepEqual([...dequantizeQ8_0(bytes).subarray(32)], new Array(32).fill(0));
});

test("a length that is not whole blocks is refused", () => {
  assert.throws(() => quantizeQ8_0(new Float32Array(33)), /multiple of 32/);
  assert.throws(() => dequantizeQ8_0(new Uint8Array(35)), /whole 34-byte blocks/);
});

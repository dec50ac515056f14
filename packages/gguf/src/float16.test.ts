// SPDX-License-Identifier: PolyForm-Shield-1.0
// Tests for the half-precision conversion.

import assert from "node:assert/strict";
import { test } from "node:test";
import { float16BitsToFloat32, float32ToFloat16Bits } from "./float16.js";

test("known values convert to the bits IEEE 754 gives them", () => {
  assert.equal(float32ToFloat16Bits(1), 0x3c00);
  assert.equal(float32ToFloat16Bits(-2), 0xc000);
  assert.equal(float32ToFloat16Bits(65504), 0x7bff);
  assert.equal(float32ToFloat16Bits(70000), 0x7c00, "overflow becomes infinity");
  assert.equal(float32ToFloat16Bits(-0), 0x8000);
  assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001, "smallest subnormal");
  assert.equal(float32ToFloat16Bits(2 ** -26), 0x0000, "below half the smallest subnormal");
  assert.equal(float32ToFloat16Bits(Number.NaN) & 0x7e00, 0x7e00);
});

test("ties round to even", () => {
  // 1 + 2^-11 lies halfway between 1 (even mantissa) and 1 + 2^-10.
  assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00);
  // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02);
});

test("every finite half value survives a round trip", () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const exponent = (bits >>> 10) & 0x1f;
    if (exponent === 0x1f && (bits & 0x3ff) !== 0) continue;
    assert.equal(float32ToFloat16Bits(float16BitsToFloat32(bits)), bits, `bits 0x${bits.toString(16)}`);
  }
});

// SPDX-License-Identifier: PolyForm-Shield-1.0
// IEEE 754 half precision, by hand: Node 20 has no Float16Array, and the bytes must not depend on the host.

const float32View = new Float32Array(1);
const uint32View = new Uint32Array(float32View.buffer);

/** The half-precision bits nearest to `value` (round to nearest, ties to even), as ggml's converter gives. */
export function float32ToFloat16Bits(value: number): number {
  float32View[0] = value;
  const bits = uint32View[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;

  if (exponent === 0xff) {
    // Infinity stays infinity; every NaN becomes a quiet NaN.
    return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal or zero in half precision: shift the implicit leading one in, then round.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const halfMantissa = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = remainder > halfway || (remainder === halfway && (halfMantissa & 1) === 1);
    return sign | (halfMantissa + (roundUp ? 1 : 0));
  }
  const halfMantissa = mantissa >>> 13;
  const remainder = mantissa & 0x1fff;
  const roundUp = remainder > 0x1000 || (remainder === 0x1000 && (halfMantissa & 1) === 1);
  // A carry out of the mantissa correctly bumps the exponent (and reaches infinity at the top).
  return sign | ((halfExponent << 10) + halfMantissa + (roundUp ? 1 : 0));
}

/** The value a half-precision bit pattern stands for. */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

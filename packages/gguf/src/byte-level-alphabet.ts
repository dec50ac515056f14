// SPDX-License-Identifier: PolyForm-Shield-1.0
// GPT-2's byte-to-unicode table: the printable character each byte is spelled with in a byte-level BPE vocabulary.

function buildByteToCharacter(): string[] {
  const printable: number[] = [];
  for (let byte = 0x21; byte <= 0x7e; byte++) printable.push(byte);
  for (let byte = 0xa1; byte <= 0xac; byte++) printable.push(byte);
  for (let byte = 0xae; byte <= 0xff; byte++) printable.push(byte);
  const table: string[] = new Array(256);
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    // Bytes that are already visible keep their own code point; the others move past 255 in order.
    table[byte] = String.fromCodePoint(printable.includes(byte) ? byte : 256 + shifted++);
  }
  return table;
}

/** byteToCharacter[b] is the one-character string that stands for byte b ("Ġ" for a space). */
export const byteToCharacter: readonly string[] = buildByteToCharacter();

/** Spells a string's UTF-8 bytes in the byte-level alphabet. */
export function toByteLevel(text: string): string {
  let spelled = "";
  for (const byte of new TextEncoder().encode(text)) spelled += byteToCharacter[byte];
  return spelled;
}

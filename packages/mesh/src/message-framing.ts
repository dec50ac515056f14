// SPDX-License-Identifier: PolyForm-Shield-1.0
// How a text message too large for one SCTP message travels: binary fragments, reassembled in order.
//
// The rule on the channel, for any implementation (a browser tab included):
// - a text frame is one whole message;
// - a binary frame is a fragment: one flag byte (1: more follow, 0: last) then a slice of the
//   message's UTF-8 bytes. The fragments of one message are sent back to back, and the channel is
//   reliable and ordered, so they arrive contiguous; a text frame between them is a protocol error.
// Small messages (all job traffic) therefore go as plain text with no overhead at all.
//
// Only web-platform APIs here (TextEncoder, Uint8Array), no Node's Buffer: a browser tab bundles this
// file through `@helexa/mesh/framing`, which must not pull in node-datachannel.

import { HelexaError } from "@helexa/protocol";

const MORE_FOLLOWS = 1;
const LAST_FRAGMENT = 0;

const encoder = new TextEncoder();
// fatal: a message whose bytes are not UTF-8 is refused, not silently patched with U+FFFD.
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The frames for one message: a single text frame when it fits, else binary fragments. */
export function encodeFrames(message: string, options: { frameSize: number }): Array<string | Uint8Array> {
  const { frameSize } = options;
  // Three bytes per UTF-16 unit is the UTF-8 worst case: the common small message skips the encoding.
  if (message.length * 3 <= frameSize) return [message];
  const bytes = encoder.encode(message);
  if (bytes.length <= frameSize) return [message];
  const sliceSize = frameSize - 1;
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += sliceSize) {
    const end = Math.min(offset + sliceSize, bytes.length);
    const frame = new Uint8Array(1 + end - offset);
    frame[0] = end === bytes.length ? LAST_FRAGMENT : MORE_FOLLOWS;
    frame.set(bytes.subarray(offset, end), 1);
    frames.push(frame);
  }
  return frames;
}

/** The UTF-8 size of a string, counted without encoding it. */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

export interface FrameDecoder {
  /** The whole message once complete, else null. Throws a `protocol_violation` HelexaError. */
  decode(frame: string | Uint8Array): string | null;
}

export function createFrameDecoder(options: { maxMessageSize: number }): FrameDecoder {
  const { maxMessageSize } = options;
  let fragments: Uint8Array[] = [];
  let pendingBytes = 0;

  function tooLarge(size: number): HelexaError {
    return new HelexaError(
      "protocol_violation",
      `received a message of ${size} bytes or more, over the limit of ${maxMessageSize} bytes`,
    );
  }

  return {
    decode(frame) {
      if (typeof frame === "string") {
        if (fragments.length > 0) {
          throw new HelexaError(
            "protocol_violation",
            "a text message arrived between the fragments of another",
          );
        }
        if (frame.length * 3 > maxMessageSize) {
          const size = utf8ByteLength(frame);
          if (size > maxMessageSize) throw tooLarge(size);
        }
        return frame;
      }
      const flag = frame[0];
      if (flag !== MORE_FOLLOWS && flag !== LAST_FRAGMENT) {
        throw new HelexaError(
          "protocol_violation",
          `binary frame with unknown fragment flag ${String(flag)}`,
        );
      }
      pendingBytes += frame.length - 1;
      if (pendingBytes > maxMessageSize) throw tooLarge(pendingBytes);
      // A view, not a copy: the caller hands over each frame and does not reuse it.
      fragments.push(frame.subarray(1));
      if (flag === MORE_FOLLOWS) return null;
      const whole = new Uint8Array(pendingBytes);
      let offset = 0;
      for (const fragment of fragments) {
        whole.set(fragment, offset);
        offset += fragment.length;
      }
      fragments = [];
      pendingBytes = 0;
      try {
        return decoder.decode(whole);
      } catch {
        throw new HelexaError("protocol_violation", "a fragmented message is not valid UTF-8");
      }
    },
  };
}

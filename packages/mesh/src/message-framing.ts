// SPDX-License-Identifier: PolyForm-Shield-1.0
// How a text message too large for one SCTP message travels: binary fragments, reassembled in order.
//
// The rule on the channel, for any implementation (a browser tab included):
// - a text frame is one whole message;
// - a binary frame is a fragment: one flag byte (1: more follow, 0: last) then a slice of the
//   message's UTF-8 bytes. The fragments of one message are sent back to back, and the channel is
//   reliable and ordered, so they arrive contiguous; a text frame between them is a protocol error.
// Small messages (all job traffic) therefore go as plain text with no overhead at all.

import { HelexaError } from "@helexa/protocol";

const MORE_FOLLOWS = 1;
const LAST_FRAGMENT = 0;

/** The frames for one message: a single text frame when it fits, else binary fragments. */
export function encodeFrames(message: string, options: { frameSize: number }): Array<string | Buffer> {
  const { frameSize } = options;
  // Three bytes per UTF-16 unit is the UTF-8 worst case: the common small message skips the byte count.
  if (message.length * 3 <= frameSize || Buffer.byteLength(message, "utf8") <= frameSize) return [message];
  const bytes = Buffer.from(message, "utf8");
  const sliceSize = frameSize - 1;
  const frames: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += sliceSize) {
    const end = Math.min(offset + sliceSize, bytes.length);
    const frame = Buffer.allocUnsafe(1 + end - offset);
    frame[0] = end === bytes.length ? LAST_FRAGMENT : MORE_FOLLOWS;
    bytes.copy(frame, 1, offset, end);
    frames.push(frame);
  }
  return frames;
}

export interface FrameDecoder {
  /** The whole message once complete, else null. Throws a `protocol_violation` HelexaError. */
  decode(frame: string | Uint8Array): string | null;
}

export function createFrameDecoder(options: { maxMessageSize: number }): FrameDecoder {
  const { maxMessageSize } = options;
  let fragments: Buffer[] = [];
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
          const size = Buffer.byteLength(frame, "utf8");
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
      fragments.push(Buffer.from(frame.buffer, frame.byteOffset + 1, frame.length - 1));
      if (flag === MORE_FOLLOWS) return null;
      const message = Buffer.concat(fragments, pendingBytes).toString("utf8");
      fragments = [];
      pendingBytes = 0;
      return message;
    },
  };
}

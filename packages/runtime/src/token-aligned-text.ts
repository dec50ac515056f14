// SPDX-License-Identifier: PolyForm-Shield-1.0
// Cuts streamed text at token boundaries, so each delta carries the ids of exactly the tokens that spell it.

/** Text ready to send, and the ids of the tokens it completes. */
export interface AlignedDelta {
  text: string;
  tokens: number[];
}

/**
 * A runtime decodes tokens into text in groups (a character split over tokens waits for its last byte), and
 * a stop-string filter may hold back the tail of that text. This keeps what was released from ending in the
 * middle of a group: text past the last whole group waits for the rest of the group. Sending only whole
 * groups means the tokens of all the deltas sent spell exactly the text sent, so another neuron can take
 * the generation over from those tokens without repeating or dropping a character.
 */
export class TokenAlignedText {
  /** Groups decoded but not yet sent; `end` is where the group's text ends in the decoded stream. */
  readonly #groups: Array<{ tokens: number[]; end: number }> = [];
  #decodedLength = 0;
  /** Released by the filter, not yet sent. */
  #released = "";
  /** Where the text sent so far ends in the decoded stream. */
  #sentEnd = 0;

  /** A group of tokens the decoder turned into `text` (which then goes through the stop filter). */
  decoded(tokens: readonly number[], text: string): void {
    this.#decodedLength += text.length;
    this.#groups.push({ tokens: [...tokens], end: this.#decodedLength });
  }

  /** Text the stop filter let through: always the next piece of the decoded stream. */
  released(text: string): void {
    this.#released += text;
  }

  /** The released text up to the end of the last whole group, with that group's and earlier ones' tokens. */
  take(): AlignedDelta {
    const releasedEnd = this.#sentEnd + this.#released.length;
    let boundary = this.#sentEnd;
    let whole = 0;
    for (const group of this.#groups) {
      if (group.end > releasedEnd) break;
      boundary = group.end;
      whole += 1;
    }
    // Tokens whose text is empty wait for the next delta with text, so that no token is left unsent.
    if (boundary === this.#sentEnd) return { text: "", tokens: [] };
    return this.#send(whole, boundary - this.#sentEnd);
  }

  /** Everything released, once generation has ended: no other neuron will continue from here. */
  takeAll(): AlignedDelta {
    const releasedEnd = this.#sentEnd + this.#released.length;
    const whole = this.#groups.filter((group) => group.end <= releasedEnd).length;
    return this.#send(whole, this.#released.length);
  }

  #send(wholeGroups: number, length: number): AlignedDelta {
    const tokens = this.#groups.splice(0, wholeGroups).flatMap((group) => group.tokens);
    const text = this.#released.slice(0, length);
    this.#released = this.#released.slice(length);
    this.#sentEnd += length;
    return { text, tokens };
  }
}

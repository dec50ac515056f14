// SPDX-License-Identifier: PolyForm-Shield-1.0
// Turns generated tokens into text one token at a time without ever splitting a UTF-8 character.

/** Detokenizes `tokens`, given the tokens before them (some tokenizers spell a token by what precedes it). */
export type Detokenize<Token> = (tokens: readonly Token[], previousTokens: readonly Token[]) => string;

/** A UTF-8 character is at most 4 bytes and every token adds at least one. */
const MOST_TOKENS_IN_ONE_CHARACTER = 4;
const CONTEXT_TOKENS = 16;

/**
 * A token may hold only part of a character's bytes, which decodes as U+FFFD. Such tokens are held back
 * and decoded again with the next ones until the character is whole; after four tokens the bytes are
 * truly invalid and are sent as U+FFFD, so one bad byte cannot stall the stream.
 */
export class TokenTextDecoder<Token = number> {
  private pending: Token[] = [];
  private previous: Token[];

  /** `previous`: tokens already decoded elsewhere (a job taken over from another neuron), for context. */
  constructor(
    private readonly detokenize: Detokenize<Token>,
    previous: readonly Token[] = [],
  ) {
    this.previous = previous.slice(-CONTEXT_TOKENS);
  }

  /** Tokens pushed whose text is still held back, waiting for the rest of a character. */
  get holding(): number {
    return this.pending.length;
  }

  push(token: Token): string {
    this.pending.push(token);
    const text = this.detokenize(this.pending, this.previous);
    if (text.endsWith("\uFFFD") && this.pending.length < MOST_TOKENS_IN_ONE_CHARACTER) return "";
    return this.release(text);
  }

  /** Whatever is held, once generation has ended. */
  flush(): string {
    if (this.pending.length === 0) return "";
    return this.release(this.detokenize(this.pending, this.previous));
  }

  private release(text: string): string {
    this.previous = [...this.previous, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    return text;
  }
}

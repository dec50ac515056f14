// SPDX-License-Identifier: PolyForm-Shield-1.0
// node-llama-cpp's greedy answer with each step's probabilities, to hold another engine's greedy text against.

import { getLlama, type Llama, type LlamaContext, type LlamaModel } from "node-llama-cpp";

export interface GreedyComparison {
  /** Tokens of node-llama-cpp's answer that the other text spells the same way, from the start. */
  matchingTokens: number;
  /** Where the texts part, if they do: at a near-tie that rounding decided, by construction of the check. */
  tie: {
    step: number;
    native: string;
    other: string;
    nativeProbability: number;
    otherProbability: number;
  } | null;
}

/**
 * The tiny models' random weights make near-uniform choices among printable tokens, so two candidates
 * sometimes score within a percent of each other, and two correct llama.cpp builds (WebAssembly SIMD here,
 * AVX2 there) may round such a tie differently. A greedy answer from another engine is therefore held to
 * node-llama-cpp's token by token: equal, or parting at a step where its own token is within `tolerance`
 * (in log-probability) of node-llama-cpp's best. Any other difference fails.
 */
export class GreedyReference implements AsyncDisposable {
  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
  ) {}

  static async open(modelPath: string): Promise<GreedyReference> {
    // One thread: llama.cpp's threads spin at barriers, and on a busy two-core machine two of them ran 300 times slower.
    const llama = await getLlama({ build: "never", gpu: false, maxThreads: 1 });
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: 2048, threads: 1 });
    return new GreedyReference(llama, model, context);
  }

  /** `prompt` is the exact text the model reads, template included; special tokens in it are read as such. */
  async compare(options: {
    prompt: string;
    other: string;
    maxTokens: number;
    tolerance?: number;
  }): Promise<GreedyComparison> {
    const tolerance = options.tolerance ?? 0.03;
    const sequence = this.context.getSequence();
    try {
      const tokens = this.model.tokenize(options.prompt, true);
      let offset = 0;
      let step = 0;
      for await (const output of sequence.evaluateWithMetadata(
        tokens,
        { probabilities: true },
        { temperature: 0 },
      )) {
        if (this.model.isEogToken(output.token)) break;
        const native = this.model.detokenize([output.token], false);
        if (options.other.startsWith(native, offset)) {
          offset += native.length;
        } else {
          const best = output.probabilities.get(output.token) ?? 0;
          for (const [candidate, probability] of output.probabilities) {
            const text = this.model.detokenize([candidate], false);
            if (
              candidate !== output.token &&
              text.length > 0 &&
              options.other.startsWith(text, offset) &&
              Math.log(best) - Math.log(probability) <= tolerance
            ) {
              return {
                matchingTokens: step,
                tie: { step, native, other: text, nativeProbability: best, otherProbability: probability },
              };
            }
          }
          throw new Error(
            `the texts part at token ${step} without a tie: node-llama-cpp says ${JSON.stringify(native)} ` +
              `(p=${best.toFixed(5)}), the other goes on ${JSON.stringify(options.other.slice(offset, offset + 12))}`,
          );
        }
        if (++step >= options.maxTokens) break;
      }
      if (offset !== options.other.length) {
        throw new Error(
          `the other text goes on after node-llama-cpp's: ${JSON.stringify(options.other.slice(offset))}`,
        );
      }
      return { matchingTokens: step, tie: null };
    } finally {
      sequence.dispose();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

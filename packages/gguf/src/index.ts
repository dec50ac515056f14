// SPDX-License-Identifier: PolyForm-Shield-1.0
// GGUF files: a writer, a header reader with a pre-load check, and the generator of helexa's tiny test models.

export { float16BitsToFloat32, float32ToFloat16Bits } from "./float16.js";
export { ggmlTypeLayouts, tensorByteSize, type WritableTensorType } from "./ggml-type.js";
export {
  GgufFormatError,
  type GgufHeader,
  type GgufTensorInfo,
  readGgufHeader,
} from "./gguf-header-reader.js";
export type { GgufBigIntType, GgufMetadataValue, GgufNumberType, GgufScalarType } from "./gguf-metadata.js";
export { type GgufTensorInput, type WriteGgufOptions, writeGguf } from "./gguf-writer.js";
export { dequantizeQ8_0, quantizeQ8_0 } from "./quantize-q8-0.js";
export {
  type GenerateTinyModelOptions,
  generateTinyModel,
  type TinyModelInfo,
  type TinyModelPreset,
  tinyModelPresets,
} from "./tiny-model.js";
export {
  buildTinyVocabulary,
  chatTemplate,
  ENDOFTEXT_TOKEN,
  IM_END_TOKEN,
  IM_START_TOKEN,
  type TinyVocabulary,
} from "./tiny-tokenizer.js";
export { InvalidModelError, validateLlamaModelHeader } from "./validate-llama-model-header.js";

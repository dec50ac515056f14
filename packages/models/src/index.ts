// SPDX-License-Identifier: PolyForm-Shield-1.0
// Model files for neurons: the default model, resumable verified downloads, and resolving a path or URL.

export { defaultModel, type ModelEntry } from "./default-model.js";
export {
  type DownloadModelOptions,
  type DownloadResult,
  downloadModel,
  isDiskFull,
} from "./download-model.js";
export { type FileHash, hashFile } from "./hash-file.js";
export type { DownloadProgress } from "./progress-meter.js";
export {
  modelFileNameFromUrl,
  type ResolveModelSourceOptions,
  resolveModelSource,
} from "./resolve-model-source.js";

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The runtime interface and the runtimes that need no native binding.

export { JobRunner, type JobRunnerLog, type JobRunnerOptions } from "./job-runner.js";
export { createOpenAIUpstreamRuntime, type OpenAIUpstreamRuntimeOptions } from "./openai-upstream.js";
export {
  type GenerateResult,
  generateFromStream,
  type LanguageModelRuntime,
  type LoadModelOptions,
  type ProgressEvent,
  RUNTIME_SPECIFICATION_VERSION,
  type RuntimeModel,
  type StreamOptions,
  type StreamPart,
} from "./runtime.js";
export {
  createSyntheticLoadTestRuntime,
  SYNTHETIC_LOAD_TEST_MODEL_ID,
  type SyntheticLoadTestRuntimeOptions,
  syntheticPromptTokens,
  syntheticTokenText,
} from "./synthetic-load-test-runtime.js";

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The node-llama-cpp runtime, on its own subpath so that importing @helexa/runtime never loads the native binding.

export {
  createLlamaCppRuntime,
  type LlamaCppModelOptions,
  type LlamaCppRuntimeOptions,
} from "./llama-cpp-runtime.js";

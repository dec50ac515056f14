// SPDX-License-Identifier: PolyForm-Shield-1.0
// A neuron: serves models to cortex over WebRTC, and to its operator over its own OpenAI api socket.

export { CortexLink, type CortexLinkOptions, type LinkState } from "./cortex-link.js";
export {
  defaultMemoryBudgetBytes,
  type ModelLoadProgress,
  ModelManager,
  type ModelManagerEvent,
  type ModelManagerOptions,
} from "./model-manager.js";
export { type Neuron, type NeuronOptions, startNeuron } from "./neuron.js";
export { createNeuronRuntime, modelIdOf, type NeuronRuntimeOptions } from "./neuron-runtime.js";

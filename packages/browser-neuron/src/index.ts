// SPDX-License-Identifier: PolyForm-Shield-1.0
// The browser neuron's engine for the page: the engine client, engine detection, the model store and the messages.

export {
  type DetectEngineOptions,
  detectEngine,
  type EngineDetection,
  estimateWllamaMemoryBytes,
  type WebGpuAdapterLike,
  type WebGpuLike,
} from "./detect-engine.js";
export {
  createEngineClient,
  type EngineClient,
  type EngineClientOptions,
  type LoadOptions,
} from "./engine-client.js";
export {
  type AdapterSummary,
  adapterSummarySchema,
  type BrowserModel,
  browserModelSchema,
  type EngineKind,
  type EnginePreferences,
  type EngineReady,
  engineKindSchema,
  enginePreferencesSchema,
  engineReadySchema,
  type MlcBuild,
  mlcBuildSchema,
  type PageToWorkerMessage,
  pageToWorkerMessageSchema,
  type WorkerToPageMessage,
  workerToPageMessageSchema,
} from "./engine-messages.js";
export {
  BrowserCortexLink,
  type BrowserCortexLinkOptions,
  type BrowserLinkLog,
  type BrowserLinkState,
  type BrowserNeuron,
  type BrowserPeer,
  type BrowserPeerCloseEvent,
  type BrowserPeerOptions,
  type BrowserSignal,
  browserHardware,
  browserNeuronSoftware,
  createBrowserPeer,
  measureDecodeSpeed,
  type StartBrowserNeuronOptions,
  startBrowserNeuron,
} from "./link/index.js";
export {
  createModelStore,
  DEFAULT_MODEL_CACHE_NAME,
  type ModelFileRequest,
  type ModelStore,
  type ModelStoreOptions,
  type StoredModelFile,
} from "./model-store.js";

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The tab's link to cortex: the WebSocket session, the WebRTC data channel, and the job runner wired to a runtime.

export {
  BrowserCortexLink,
  type BrowserCortexLinkOptions,
  type BrowserLinkLog,
  type BrowserLinkState,
} from "./browser-cortex-link.js";
export {
  type BrowserPeer,
  type BrowserPeerCloseEvent,
  type BrowserPeerOptions,
  type BrowserSignal,
  createBrowserPeer,
} from "./browser-peer.js";
export {
  type BrowserNeuron,
  browserHardware,
  browserNeuronSoftware,
  measureDecodeSpeed,
  type StartBrowserNeuronOptions,
  startBrowserNeuron,
} from "./start-browser-neuron.js";

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Test doubles for the mesh, published as @helexa/mesh/test.

export { loopbackOnlyReason, requireLoopbackOnly } from "./loopback-only.js";
export {
  type CreatePeerPairOptions,
  createPeerPair,
  type PeerPair,
  type PeerSettings,
  type SignalRelayOptions,
} from "./peer-pair.js";

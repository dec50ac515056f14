// SPDX-License-Identifier: PolyForm-Shield-1.0
// The WebRTC transport between cortex and neurons: a peer with one data channel, signalled by the caller.

export { toNativeIceServers } from "./ice-servers.js";
export { createFrameDecoder, encodeFrames, type FrameDecoder } from "./message-framing.js";
export {
  CHANNEL_LABEL,
  type CreatePeerOptions,
  createPeer,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_OPEN_TIMEOUT_MS,
  type Peer,
  type PeerCloseEvent,
  type PeerCloseReason,
  type PeerRole,
  type PeerState,
  type PeerStats,
  type Signal,
} from "./peer.js";

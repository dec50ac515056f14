// SPDX-License-Identifier: PolyForm-Shield-1.0
// The wire protocol's version: the first message of every connection names it.

export const PROTOCOL_VERSION = "helexa/1" as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION;

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Turns the protocol's browser-style ICE servers (urls, username, credential) into node-datachannel's form.

import { HelexaError, type IceServer } from "@helexa/protocol";
import type { IceServer as NativeIceServer } from "node-datachannel";

// scheme:host[:port][?transport=udp|tcp], RFC 7064/7065; an IPv6 host comes in brackets.
const iceUrlPattern =
  /^(stuns?|turns?):(\[[0-9a-f:.]+\]|[^:?/\s[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i;

/**
 * Objects rather than `turn:user:pass@host` strings, so a credential holding `@` or `:` cannot be
 * misparsed. `stuns:` is refused because libdatachannel cannot speak STUN over TLS.
 */
export function toNativeIceServers(servers: readonly IceServer[]): NativeIceServer[] {
  const native: NativeIceServer[] = [];
  for (const server of servers) {
    const urls = typeof server.urls === "string" ? [server.urls] : server.urls;
    for (const url of urls) {
      const match = iceUrlPattern.exec(url.trim());
      if (!match) throw new HelexaError("invalid_request", `ICE server URL not understood: ${url}`);
      const scheme = match[1]!.toLowerCase();
      const hostname = match[2]!.replace(/^\[|\]$/g, "");
      const transport = match[4]?.toLowerCase();
      const port = match[3] === undefined ? (scheme === "turns" ? 5349 : 3478) : Number(match[3]);
      if (port < 1 || port > 65_535)
        throw new HelexaError("invalid_request", `ICE server port out of range: ${url}`);
      if (scheme === "stuns") throw new HelexaError("invalid_request", `stuns: is not supported: ${url}`);
      if (scheme === "stun") {
        native.push({ hostname, port });
        continue;
      }
      if (!server.username || !server.credential) {
        throw new HelexaError("invalid_request", `TURN server needs a username and credential: ${url}`);
      }
      native.push({
        hostname,
        port,
        username: server.username,
        password: server.credential,
        relayType: scheme === "turns" ? "TurnTls" : transport === "tcp" ? "TurnTcp" : "TurnUdp",
      });
    }
  }
  return native;
}

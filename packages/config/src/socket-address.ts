// SPDX-License-Identifier: PolyForm-Shield-1.0
// Parsing of listen addresses ("host:port", ":port", a bare port, "[::1]:port") for every helexa server.

import { ConfigError } from "./config-error.js";

export interface SocketAddress {
  /** A host name or IP address, IPv6 without brackets. */
  host: string;
  port: number;
}

/** Where an address without a host listens: every interface, as `docker run -p` reads it. */
const anyHost = "0.0.0.0";
const hostPattern = /^[A-Za-z0-9._-]+$/;
const ipv6Pattern = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/;
const portPattern = /^[0-9]{1,5}$/;

export const socketAddressAccepts =
  "must be host:port with a port from 1 to 65535 (or :port, or a bare port)";

/** The address, or null when the text is not one; for callers that report errors their own way. */
export function trySocketAddress(text: string): SocketAddress | null {
  const trimmed = text.trim();
  let host: string;
  let portText: string;
  if (trimmed.startsWith("[")) {
    const match = /^\[([^\]]+)\]:([^:]*)$/.exec(trimmed);
    if (!match?.[1] || match[2] === undefined || !ipv6Pattern.test(match[1])) return null;
    host = match[1];
    portText = match[2];
  } else if (trimmed.includes(":")) {
    const separator = trimmed.lastIndexOf(":");
    host = trimmed.slice(0, separator) || anyHost;
    portText = trimmed.slice(separator + 1);
    // A second colon outside brackets is an IPv6 address whose port cannot be told apart.
    if (!hostPattern.test(host)) return null;
  } else {
    host = anyHost;
    portText = trimmed;
  }
  if (!portPattern.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { host, port };
}

/** Parses a listen address; throws a ConfigError naming what is accepted. */
export function parseSocketAddress(text: string): SocketAddress {
  const address = trySocketAddress(text);
  if (!address)
    throw new ConfigError(`invalid socket address ${JSON.stringify(text)}: ${socketAddressAccepts}`);
  return address;
}

/** The canonical text of an address, brackets around IPv6 hosts. */
export function formatSocketAddress(address: SocketAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// Where to go after signing in: a path on this site only, so a link cannot send anyone elsewhere.

export function safeNext(next: string | null | undefined, fallback = "/chat"): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  return next;
}

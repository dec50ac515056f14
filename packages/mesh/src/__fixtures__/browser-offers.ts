// SPDX-License-Identifier: PolyForm-Shield-1.0
// Data-channel offers as Chromium and Firefox write them, to check cortex answers a browser tab.

const fingerprint =
  "sha-256 C5:FD:9E:BB:23:33:6F:44:9D:56:C5:16:9D:CE:A3:7F:E2:CD:33:3E:0A:12:3A:88:16:30:24:06:20:9A:67:AB";

function sdp(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n`;
}

/** What Chromium's createOffer() gives for one data channel, before any candidate. */
export const chromiumOffer = sdp([
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:Hk2n",
  "a=ice-pwd:0gTbMLcqzvNHbbzbyS8qgNE4",
  "a=ice-options:trickle",
  `a=fingerprint:${fingerprint}`,
  "a=setup:actpass",
  "a=mid:0",
  "a=sctp-port:5000",
  "a=max-message-size:262144",
]);

/** What Firefox's createOffer() gives for one data channel, before any candidate. */
export const firefoxOffer = sdp([
  "v=0",
  "o=mozilla...THIS_IS_SDPARTA-128.0 6302870130530370286 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  `a=fingerprint:${fingerprint}`,
  "a=group:BUNDLE 0",
  "a=ice-options:trickle",
  "a=msid-semantic:WMS *",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=sendrecv",
  "a=ice-pwd:b0f3a1e29b6f6d8e8c1a7d5e4f3c2b1a",
  "a=ice-ufrag:3e5c2a1f",
  "a=mid:0",
  "a=setup:actpass",
  "a=sctp-port:5000",
  "a=max-message-size:1073741823",
]);

/** Candidates as a browser trickles them: a host one, an mDNS-obscured one, and end-of-candidates. */
export const browserCandidates = [
  {
    candidate:
      "candidate:1467250027 1 udp 2122260223 127.0.0.1 50000 typ host generation 0 ufrag Hk2n network-id 1",
    mid: "0",
  },
  {
    candidate:
      "candidate:842163049 1 udp 2122194687 4a1d7e0c-5b55-4b8e-9d8c-1f2e3a4b5c6d.local 50001 typ host generation 0 ufrag Hk2n network-id 2",
    mid: "0",
  },
  { candidate: "", mid: "0" },
];

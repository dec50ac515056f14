// SPDX-License-Identifier: PolyForm-Shield-1.0
// Asks the kernel for an unused loopback port.

import { createServer } from "node:net";

/** The port is free when this returns; another process could take it before it is used, which is rare enough here. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port was assigned"))));
    });
  });
}

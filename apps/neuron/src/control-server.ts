// SPDX-License-Identifier: PolyForm-Shield-1.0
// The neuron's control socket: health and status for its operator and for monitoring.

import { createServer, type Server } from "node:http";

export function createControlServer(status: () => Record<string, unknown>): Server {
  return createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "GET" && (path === "/health" || path === "/status" || path === "/")) {
      const body = status();
      const healthy = body.state !== "rejected";
      response.writeHead(path === "/health" && !healthy ? 503 : 200, { "content-type": "application/json" });
      response.end(
        JSON.stringify(
          path === "/health" ? { status: healthy ? "ok" : "unhealthy", state: body.state } : body,
        ),
      );
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(
      JSON.stringify({ error: { code: "not_found", message: `no ${request.method} ${path} here` } }),
    );
  });
}

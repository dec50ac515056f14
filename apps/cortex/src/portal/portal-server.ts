// SPDX-License-Identifier: PolyForm-Shield-1.0
// The portal socket: tRPC at /api/trpc, Auth.js at /api/auth, Stripe's webhook, and the Next.js pages.

import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { type AppRouter, appRouter, handleStripeWebhook, type PortalServices } from "@helexa/api";
import { clientAddress, type PortalAuth } from "@helexa/auth";
import type { Logger } from "@helexa/log";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { browserBundlePrefix, serveBrowserBundle } from "./browser-bundle.js";
import type { ModelFilesHandler } from "./model-files.js";

export type NextRequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export interface PortalServerOptions {
  services: PortalServices;
  auth: PortalAuth;
  /** Next.js's handler for the pages; null when the portal's UI is not built (the API still answers). */
  pages: NextRequestHandler | null;
  stripeWebhookSecret?: string;
  /** `GET /models/<id>/file`: the catalog's model files for browser tabs, on the same origin as /donate. */
  modelFiles?: ModelFilesHandler;
  log: Logger;
}

const maxWebhookBytes = 1024 * 1024;

export function createPortalRequestListener(options: PortalServerOptions): RequestListener {
  const { services, auth, log } = options;
  const trpc = createHTTPHandler<AppRouter>({
    router: appRouter,
    basePath: "/api/trpc/",
    async createContext({ req }) {
      return {
        services,
        session: await auth.sessionOf(req),
        address: clientAddress(req),
        userAgent: req.headers["user-agent"] ?? null,
      };
    },
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        log.error("portal.trpc_error", { path, error: error.message, cause: String(error.cause) });
      }
    },
  });

  return (request, response) => {
    const url = new URL(request.url ?? "/", "http://portal.invalid");
    const handled = route(url, request, response).catch((error: unknown) => {
      log.error("portal.request_failed", { path: url.pathname, error: String(error) });
      if (!response.headersSent) {
        response.statusCode = 500;
        response.setHeader("content-type", "text/plain; charset=utf-8");
      }
      response.end("internal error");
    });
    void handled;
  };

  async function route(url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = url.pathname;
    if (path.startsWith("/api/trpc/")) {
      if (!sameOrigin(request)) return refuse(response, 403, "cross-site requests are refused");
      return trpc(request, response);
    }
    if (path === "/api/auth" || path.startsWith("/api/auth/")) {
      if (request.method === "POST" && !sameOrigin(request))
        return refuse(response, 403, "cross-site requests are refused");
      return auth.handle(request, response, url);
    }
    if (path === "/api/stripe/webhook") return stripeWebhook(request, response);
    if (options.modelFiles && path.startsWith("/models/") && path.endsWith("/file"))
      return options.modelFiles(request, response);
    if (path.startsWith(browserBundlePrefix)) return serveBrowserBundle(request, response, path);
    if (path === "/donate") {
      // Cross-origin isolated, so wllama may run llama.cpp on several threads (SharedArrayBuffer).
      response.setHeader("cross-origin-opener-policy", "same-origin");
      response.setHeader("cross-origin-embedder-policy", "require-corp");
    }
    if (path === "/api/health") {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ status: "ok" }));
      return;
    }
    if (options.pages) return options.pages(request, response);
    refuse(
      response,
      503,
      "the portal's pages are not built: run `npm run build -w @helexa/portal` (helexa up builds them on first start)",
    );
  }

  async function stripeWebhook(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "POST") return refuse(response, 405, "POST only");
    if (!options.stripeWebhookSecret)
      return refuse(response, 404, "Stripe is not configured on this install");
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > maxWebhookBytes) return refuse(response, 413, "payload too large");
      chunks.push(chunk as Buffer);
    }
    const signature = request.headers["stripe-signature"];
    const result = await handleStripeWebhook({
      rawBody: Buffer.concat(chunks),
      signature: Array.isArray(signature) ? signature[0] : signature,
      webhookSecret: options.stripeWebhookSecret,
      purchases: services.purchases,
      creditPacks: services.creditPacks,
    });
    response.statusCode = result.status;
    response.setHeader("content-type", "application/json");
    if (result.status === 200) {
      log.info("payments.stripe_event", { outcome: result.outcome });
      response.end(JSON.stringify({ received: true, outcome: result.outcome }));
    } else {
      log.warn("payments.stripe_event_refused", { error: result.error });
      response.end(JSON.stringify({ error: result.error }));
    }
  }
}

/**
 * Session cookies are SameSite=Lax, which already keeps them off cross-site POSTs; refusing a foreign
 * Origin as well closes the gap for browsers or proxies that do not honour it.
 */
function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (!origin || request.method === "GET" || request.method === "HEAD") return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function refuse(response: ServerResponse, status: number, message: string): void {
  response.statusCode = status;
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify({ error: { message } }));
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// The orchestrator socket: neurons dial it over WebSocket, say hello, and get a WebRTC data channel.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "@helexa/log";
import { createPeer } from "@helexa/mesh";
import {
  type CortexSessionMessage,
  capabilitiesSchema,
  decodeMessage,
  encodeMessage,
  HelexaError,
  helloSchema,
  type IceServer,
  type ModelError,
  type ModelProgress,
  neuronSessionMessageSchema,
  PROTOCOL_VERSION,
} from "@helexa/protocol";
import { type WebSocket, WebSocketServer } from "ws";
import { prometheusContentType } from "../metrics/metrics-registry.js";
import type { NeuronRegistry } from "./neuron-registry.js";
import { NeuronSession } from "./neuron-session.js";
import { type NeuronRevocationMatch, NeuronSessionRevoker } from "./neuron-session-revoker.js";

export interface NeuronIdentity {
  neuronId: string;
  operatorAccountId: string | null;
  /** What the store needs to check the token again later (its hash), kept while the session lasts. */
  credential?: string;
}

export interface OrchestratorServerOptions {
  registry: NeuronRegistry;
  authenticateNeuron: (token: string) => Promise<NeuronIdentity | null>;
  onCapabilities?: (session: NeuronSession) => Promise<void>;
  /** A neuron's report on a model cortex asked it to load (`model.progress`, `model.error`). */
  onModelMessage?: (session: NeuronSession, message: ModelProgress | ModelError) => void;
  iceServers: IceServer[];
  iceBindAddress?: string;
  icePortRange?: { begin: number; end: number };
  heartbeatIntervalMs?: number;
  helloTimeoutMs?: number;
  /** Served at `GET /metrics` in Prometheus text format; without it that path is 404. */
  metrics?: { render(): Promise<string> };
  log: Logger;
}

/** WebSocket close codes of the helexa protocol, in the range for applications. */
export const closeCodes = {
  protocolVersionUnsupported: 4000,
  unauthenticated: 4001,
  protocolViolation: 4002,
  heartbeatTimeout: 4003,
  shuttingDown: 1001,
} as const;

export class OrchestratorServer {
  readonly server: Server;
  readonly #sockets: WebSocketServer;
  readonly #options: OrchestratorServerOptions;
  readonly #heartbeatIntervalMs: number;
  readonly #revoker = new NeuronSessionRevoker({ closeCode: closeCodes.unauthenticated });

  constructor(options: OrchestratorServerOptions) {
    this.#options = options;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
    this.server = createServer((request, response) => this.#onHttp(request, response));
    this.#sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
    this.server.on("upgrade", (request, socket, head) => {
      this.#sockets.handleUpgrade(request, socket, head, (webSocket) => this.#onConnection(webSocket));
    });
  }

  async close(): Promise<void> {
    for (const session of this.#options.registry.list()) session.close("cortex is shutting down");
    for (const client of this.#sockets.clients)
      client.close(closeCodes.shuttingDown, "cortex is shutting down");
    await new Promise<void>((resolve) => this.#sockets.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * A token revoked or replaced, or an operator suspended, through any cortex: closes the sessions it
   * admitted here (registered or still joining) with a typed error; returns how many.
   */
  revoke(revocation: NeuronRevocationMatch): number {
    return this.#revoker.revoke(revocation);
  }

  /**
   * Revocations may have gone unheard: tokens being checked now are checked again, and the connected
   * neurons' credentials are returned for the caller to check.
   */
  missedRevocations(): Array<{ neuronId: string; credential: string }> {
    this.#revoker.missedRevocations();
    return this.#revoker.credentials();
  }

  #onHttp(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "GET" && (path === "/health" || path === "/")) {
      const neurons = this.#options.registry.list().map((session) => ({
        id: session.neuronId,
        name: session.name,
        ready: session.ready,
        draining: session.draining,
        models: session.models.map((model) => model.id),
        activeJobs: session.activeJobs,
        slots: session.slots,
        jobsServed: session.jobsServed,
      }));
      const body = JSON.stringify({
        status: "ok",
        role: "orchestrator",
        protocol: PROTOCOL_VERSION,
        neurons,
      });
      response.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    if (request.method === "GET" && path === "/metrics" && this.#options.metrics) {
      this.#options.metrics.render().then(
        (body) => response.writeHead(200, { "content-type": prometheusContentType }).end(body),
        (error: unknown) => {
          this.#options.log.error("metrics.render_failed", { error: String(error) });
          response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("metrics failed\n");
        },
      );
      return;
    }
    response.writeHead(404, { "content-type": "application/json" });
    response.end(
      JSON.stringify({ error: { code: "not_found", message: `no ${request.method} ${path} here` } }),
    );
  }

  #onConnection(socket: WebSocket): void {
    const log = this.#options.log;
    const send = (message: CortexSessionMessage) => socket.send(encodeMessage(message));
    const reject = (code: number, error: HelexaError) => {
      log.warn("neuron.rejected", { code: error.code, message: error.message });
      send({ type: "error", error: error.toWire() });
      socket.close(code, error.message.slice(0, 100));
    };
    const helloTimer = setTimeout(
      () =>
        reject(closeCodes.protocolViolation, new HelexaError("timeout", "no hello within the time allowed")),
      this.#options.helloTimeoutMs ?? 10_000,
    );

    socket.once("message", async (data) => {
      clearTimeout(helloTimer);
      let hello: ReturnType<typeof decodeMessage<typeof helloSchema>>;
      try {
        hello = decodeMessage(helloSchema, data.toString());
      } catch (error) {
        reject(closeCodes.protocolViolation, error as HelexaError);
        return;
      }
      if (hello.protocol !== PROTOCOL_VERSION) {
        const error = new HelexaError(
          "protocol_version_unsupported",
          `protocol ${hello.protocol} is not supported: this cortex speaks ${PROTOCOL_VERSION}`,
        );
        reject(closeCodes.protocolVersionUnsupported, error);
        return;
      }
      const check = this.#revoker.beginCheck();
      let identity = await this.#options.authenticateNeuron(hello.token).catch(() => null);
      // A revocation heard meanwhile may have committed after the check read the token: ask again.
      while (identity && check.revokedMeanwhile(identity)) {
        identity = await this.#options.authenticateNeuron(hello.token).catch(() => null);
      }
      check.end();
      if (!identity) {
        reject(
          closeCodes.unauthenticated,
          new HelexaError("unauthenticated", "the neuron token is not valid"),
        );
        return;
      }
      // The neuron may have hung up while its token was checked: nothing is left to start.
      if (socket.readyState !== socket.OPEN) return;
      this.#startSession(socket, identity, hello.name);
    });
    socket.on("error", (error) => log.warn("neuron.socket_error", { message: error.message }));
  }

  #startSession(socket: WebSocket, identity: NeuronIdentity, name: string): void {
    const { registry, log } = this.#options;
    const peer = createPeer({
      role: "answerer",
      iceServers: this.#options.iceServers,
      ...(this.#options.iceBindAddress ? { bindAddress: this.#options.iceBindAddress } : {}),
      ...(this.#options.icePortRange ? { portRange: this.#options.icePortRange } : {}),
      label: `cortex-${identity.neuronId}`,
      onSignal: (signal) => session.sendSession(signal),
    });
    const session: NeuronSession = new NeuronSession({
      neuronId: identity.neuronId,
      operatorAccountId: identity.operatorAccountId,
      name,
      socket,
      peer,
      log: (event, fields) => log.warn(event, fields),
      onClose: (closed, reason) => {
        clearInterval(watchdog);
        this.#revoker.untrack(closed);
        registry.remove(closed);
        log.info("neuron.left", { neuronId: closed.neuronId, reason });
      },
    });
    this.#revoker.track(session, socket, identity.credential);
    // The round trip placement weighs: a WebSocket ping each interval, answered by the neuron's
    // WebSocket itself (no protocol message, no clock shared with the neuron).
    let pingSentAt: number | null = null;
    socket.on("pong", () => {
      if (pingSentAt === null) return;
      session.stats.recordRoundTrip(performance.now() - pingSentAt);
      pingSentAt = null;
    });
    const watchdog = setInterval(() => {
      if (Date.now() - session.lastSeenAt > this.#heartbeatIntervalMs * 3) {
        socket.close(closeCodes.heartbeatTimeout, "no heartbeat");
        session.close("no heartbeat within three intervals");
        return;
      }
      if (socket.readyState === socket.OPEN) {
        pingSentAt = performance.now();
        socket.ping();
      }
    }, this.#heartbeatIntervalMs);

    socket.on("message", (data) => {
      session.lastSeenAt = Date.now();
      let message: ReturnType<typeof decodeMessage<typeof neuronSessionMessageSchema>>;
      try {
        message = decodeMessage(neuronSessionMessageSchema, data.toString());
      } catch (error) {
        session.sendSession({ type: "error", error: (error as HelexaError).toWire() });
        return;
      }
      switch (message.type) {
        case "heartbeat":
          session.sendSession({ type: "heartbeat", sentAt: Date.now() });
          break;
        case "signal.description":
        case "signal.candidate":
          peer.handleSignal(message);
          break;
        case "model.progress":
        case "model.error":
          this.#options.onModelMessage?.(session, message);
          break;
        case "draining":
          if (!session.draining) log.info("neuron.draining", { neuronId: session.neuronId });
          session.draining = true;
          // Placement listens for changes: it takes the session out of its free pools.
          registry.updated(session);
          break;
        case "capabilities": {
          const firstTime = session.capabilities === null;
          session.capabilities = capabilitiesSchema.parse(message);
          // New models or slots: placement's index follows (a session not yet registered is indexed when it is).
          if (!firstTime) registry.updated(session);
          this.#options
            .onCapabilities?.(session)
            .catch((error: unknown) => log.error("neuron.capabilities_failed", { error: String(error) }));
          if (firstTime) {
            peer.opened.then(
              () => {
                registry.add(session);
                log.info("neuron.joined", {
                  neuronId: session.neuronId,
                  name: session.name,
                  models: session.models.map((model) => model.id),
                  slots: session.slots,
                });
              },
              () => {},
            );
          }
          break;
        }
      }
    });
    socket.on("close", () => session.close("the neuron's WebSocket closed"));

    session.sendSession({
      type: "welcome",
      protocol: PROTOCOL_VERSION,
      neuronId: identity.neuronId,
      heartbeatIntervalMs: this.#heartbeatIntervalMs,
      iceServers: this.#options.iceServers,
    });
  }
}

// SPDX-License-Identifier: PolyForm-Shield-1.0
// LISTEN/NOTIFY on either backend: PGlite's own listen, or one dedicated node-postgres connection that reconnects.

import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";

export interface NotificationHandlers {
  /** A payload sent on the channel with `pg_notify` by a transaction that committed. */
  onNotification(payload: string): void;
  /**
   * The listening connection was lost and is back. What was sent while it was down is gone for good:
   * the caller re-reads whatever it follows.
   */
  onReconnect?(): void;
}

export interface NotificationSubscription extends AsyncDisposable {
  close(): Promise<void>;
}

export interface DatabaseNotifications {
  /** Resolves once the channel is listened on: a notification committed after that reaches the handlers. */
  listen(channel: string, handlers: NotificationHandlers): Promise<NotificationSubscription>;
  close(): Promise<void>;
}

/** The LISTEN connection's application_name in pg_stat_activity. */
export const listenerApplicationName = "helexa-listen";

/** Channel names are written into LISTEN unquoted, so only plain lowercase identifiers are taken. */
const channelNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

function checkChannelName(channel: string): void {
  if (!channelNamePattern.test(channel)) throw new Error(`not a usable channel name: ${channel}`);
}

function subscription(close: () => Promise<void>): NotificationSubscription {
  let closing: Promise<void> | undefined;
  const once = () => {
    closing ??= close();
    return closing;
  };
  return { close: once, [Symbol.asyncDispose]: once };
}

/** PGlite is in this process: its connection cannot be lost, so onReconnect is never called. */
export function createPgliteNotifications(client: PGlite): DatabaseNotifications {
  return {
    async listen(channel, handlers) {
      checkChannelName(channel);
      const unlisten = await client.listen(channel, (payload) => handlers.onNotification(payload));
      return subscription(async () => {
        if (!client.closed) await unlisten();
      });
    },
    async close() {},
  };
}

export interface PostgresNotificationsOptions {
  url: string;
  /** Told of a lost connection, a failed reconnection or a handler that threw; the listener carries on. */
  onError?: (error: Error) => void;
  /** The wait before the first reconnection attempt, doubled after each failure up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /**
   * An idle LISTEN connection whose peer vanished (a cut network, not a closed socket) would wait for
   * notifications forever: a query this often proves it alive, or ends it so that it is made again.
   */
  healthCheckIntervalMs?: number;
  /** How long the health check's query may take before the connection is taken for dead. */
  healthCheckTimeoutMs?: number;
}

/**
 * node-postgres delivers notifications only on the connection that ran LISTEN, and a pooled
 * connection goes back to the pool: the listener keeps one connection of its own for every channel.
 */
export function createPostgresNotifications(options: PostgresNotificationsOptions): DatabaseNotifications {
  const reportError = options.onError ?? ((error: Error) => process.emitWarning(error));
  const minimumDelay = options.reconnectDelayMs ?? 100;
  const maximumDelay = options.maxReconnectDelayMs ?? 5_000;
  const channels = new Map<string, Set<NotificationHandlers>>();
  let client: pg.Client | null = null;
  /** The channels the current connection has run LISTEN for. */
  let listening = new Set<string>();
  let connecting: Promise<pg.Client> | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let healthTimer: NodeJS.Timeout | null = null;
  let failedAttempts = 0;
  let closed = false;

  const dispatch = (message: pg.Notification) => {
    for (const handlers of channels.get(message.channel) ?? []) {
      try {
        handlers.onNotification(message.payload ?? "");
      } catch (error) {
        reportError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  };

  const connect = async (): Promise<pg.Client> => {
    const fresh = new pg.Client({
      connectionString: options.url,
      keepAlive: true,
      // So an operator can tell it apart in pg_stat_activity (it stays open, idle, for good).
      application_name: listenerApplicationName,
    });
    fresh.on("notification", dispatch);
    // Without a listener an error on the idle connection would crash the process.
    fresh.on("error", (error) => lost(fresh, error));
    fresh.on("end", () => lost(fresh, new Error("the LISTEN connection ended")));
    const heard = new Set<string>();
    try {
      await fresh.connect();
      for (const channel of [...channels.keys()]) {
        await fresh.query(`LISTEN ${channel}`);
        heard.add(channel);
      }
    } catch (error) {
      fresh.removeAllListeners("end");
      await fresh.end().catch(() => {});
      throw error;
    }
    if (closed) {
      await fresh.end().catch(() => {});
      throw new Error("the listener was closed");
    }
    client = fresh;
    listening = heard;
    startHealthCheck();
    return fresh;
  };

  const ensureConnected = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= connect().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  function lost(which: pg.Client, error: Error): void {
    if (which !== client) return;
    client = null;
    stopHealthCheck();
    which.removeAllListeners("end");
    which.end().catch(() => {});
    if (closed) return;
    reportError(new Error(`the LISTEN connection was lost: ${error.message}`, { cause: error }));
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer || channels.size === 0) return;
    const delay = Math.min(maximumDelay, minimumDelay * 2 ** failedAttempts);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      ensureConnected().then(
        () => {
          failedAttempts = 0;
          for (const set of channels.values()) for (const handlers of set) handlers.onReconnect?.();
        },
        (error: unknown) => {
          failedAttempts += 1;
          if (closed) return;
          reportError(new Error(`reconnecting the LISTEN connection failed: ${String(error)}`));
          scheduleReconnect();
        },
      );
    }, delay);
    reconnectTimer.unref();
  }

  function startHealthCheck(): void {
    stopHealthCheck();
    const interval = options.healthCheckIntervalMs ?? 30_000;
    const timeout = options.healthCheckTimeoutMs ?? 10_000;
    healthTimer = setInterval(() => {
      const checked = client;
      if (!checked) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer to a health check within ${timeout} ms`)),
          timeout,
        );
      });
      Promise.race([checked.query("select 1"), late]).then(
        () => clearTimeout(timer),
        (error: unknown) => {
          clearTimeout(timer);
          lost(checked, error instanceof Error ? error : new Error(String(error)));
        },
      );
    }, interval);
    healthTimer.unref();
  }

  function stopHealthCheck(): void {
    if (healthTimer) clearInterval(healthTimer);
    healthTimer = null;
  }

  const release = async (channel: string, handlers: NotificationHandlers) => {
    const set = channels.get(channel);
    if (!set?.delete(handlers) || set.size > 0) return;
    channels.delete(channel);
    const current = client;
    if (!current) return;
    if (channels.size === 0) {
      // Nothing left to listen for: the connection goes until the next listen.
      client = null;
      stopHealthCheck();
      current.removeAllListeners("end");
      await current.end().catch(() => {});
      return;
    }
    listening.delete(channel);
    await current.query(`UNLISTEN ${channel}`).catch(() => {});
  };

  return {
    async listen(channel, handlers) {
      checkChannelName(channel);
      if (closed) throw new Error("the listener is closed");
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
      }
      set.add(handlers);
      try {
        // While down and waiting to reconnect, the reconnection listens on every channel and calls onReconnect.
        if (!reconnectTimer) {
          const current = await ensureConnected();
          if (current === client && !listening.has(channel)) {
            await current.query(`LISTEN ${channel}`);
            listening.add(channel);
          }
        }
      } catch (error) {
        set.delete(handlers);
        if (set.size === 0) channels.delete(channel);
        throw error;
      }
      return subscription(() => release(channel, handlers));
    },

    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      stopHealthCheck();
      await connecting?.catch(() => {});
      const current = client;
      client = null;
      channels.clear();
      if (current) {
        current.removeAllListeners("end");
        await current.end().catch(() => {});
      }
    },
  };
}

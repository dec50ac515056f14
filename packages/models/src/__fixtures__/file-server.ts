// SPDX-License-Identifier: PolyForm-Shield-1.0
// A local HTTP server for download tests: serves one file with Range support and can misbehave on request.

import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FileServerOptions {
  content: Buffer;
  /** More files by path ("/other.gguf"), served as the main one is, Range included. */
  extraFiles?: Record<string, Buffer>;
  /** Answer every request with the whole file and 200, as servers without Range support do. */
  ignoreRange?: boolean;
  /** Destroy the socket after this many body bytes, on the first `cutRequests` requests. */
  cutAfterBytes?: number;
  cutRequests?: number;
  /**
   * Awaited between sending those bytes and the cut. fetch drops bytes it received but was not yet
   * asked for when the connection fails, so a test that needs an exact resume offset waits here
   * until the client has written them all.
   */
  beforeCut?: () => Promise<void>;
  /** Send the body in chunks of this size, one every `dripIntervalMs`. */
  dripChunkBytes?: number;
  dripIntervalMs?: number;
  /** Accept requests and never answer them. */
  hang?: boolean;
  /** Answer with this status and no file. */
  status?: number;
}

export interface RecordedRequest {
  path: string;
  range: string | null;
}

export interface FileServer extends AsyncDisposable {
  /** The URL of the file; `/redirect` answers 302 to it, as Hugging Face does to its CDN. */
  fileUrl: string;
  redirectUrl: string;
  /** Where the server is: `${origin}/other.gguf` is an extra file's URL. */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const filePath = "/model.gguf";

export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  const requests: RecordedRequest[] = [];
  let cutsLeft = options.cutAfterBytes === undefined ? 0 : (options.cutRequests ?? 1);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? "/";
    requests.push({ path, range: request.headers.range ?? null });
    if (options.hang) return;
    if (path === "/redirect") {
      response.writeHead(302, { location: filePath }).end();
      return;
    }
    if (options.status !== undefined) {
      response.writeHead(options.status).end();
      return;
    }
    const content = path === filePath ? options.content : options.extraFiles?.[path];
    if (!content) {
      response.writeHead(404).end();
      return;
    }

    let start = 0;
    const match = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    if (match && !options.ignoreRange) {
      start = Number(match[1]);
      if (start >= content.length) {
        response.writeHead(416, { "content-range": `bytes */${content.length}` }).end();
        return;
      }
      response.writeHead(206, {
        "content-length": content.length - start,
        "content-range": `bytes ${start}-${content.length - 1}/${content.length}`,
        "accept-ranges": "bytes",
      });
    } else {
      response.writeHead(200, { "content-length": content.length, "accept-ranges": "bytes" });
    }
    const body = content.subarray(start);

    if (cutsLeft > 0 && options.cutAfterBytes !== undefined) {
      cutsLeft--;
      // Destroy only once the bytes are handed to the kernel, so the client can have all of them.
      response.write(body.subarray(0, options.cutAfterBytes), async () => {
        await options.beforeCut?.();
        response.socket?.destroy();
      });
      return;
    }
    if (options.dripChunkBytes !== undefined) {
      let sent = 0;
      const timer = setInterval(() => {
        const next = body.subarray(sent, sent + options.dripChunkBytes!);
        sent += next.length;
        if (sent >= body.length) {
          clearInterval(timer);
          response.end(next);
        } else {
          response.write(next);
        }
      }, options.dripIntervalMs ?? 20);
      response.on("close", () => clearInterval(timer));
      return;
    }
    response.end(body);
  });

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    server.close();
    await once(server, "close").catch(() => {});
  };
  return {
    fileUrl: `http://127.0.0.1:${port}${filePath}`,
    origin: `http://127.0.0.1:${port}`,
    redirectUrl: `http://127.0.0.1:${port}/redirect`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A port nothing listens on: bound, read, and released. */
export async function findClosedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

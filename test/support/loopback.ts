// Real loopback servers for the HTTP client suites: each records what arrived, exactly as it
// arrived (raw header lines, so a header sent twice is seen twice).
import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  /** `[name, value, name, value, …]` as sent. */
  rawHeaders: string[];
  /** The client's port: equal for two requests on the same keep-alive connection. */
  remotePort: number;
}

export interface Downstream {
  /** `http://127.0.0.1:<port>` (or `https://…`). */
  origin: string;
  port: number;
  received: Received[];
  server: Server;
}

const open = new Set<Server>();

function record(received: Received[], request: IncomingMessage): void {
  received.push({
    method: request.method ?? '',
    path: request.url ?? '',
    rawHeaders: request.rawHeaders,
    remotePort: request.socket.remotePort ?? 0,
  });
}

/** Starts `server` on 127.0.0.1 with a free port and closes it in {@link closeServers}. */
export async function listen(server: Server): Promise<number> {
  open.add(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/**
 * A downstream service that records every request and answers `respond` (default: 200 "ok").
 */
export async function startDownstream(
  respond: (request: IncomingMessage, response: ServerResponse) => void = (_, response) =>
    response.end('ok'),
  tls?: { key: string; cert: string },
): Promise<Downstream> {
  const received: Received[] = [];
  const listener: RequestListener = (request, response) => {
    record(received, request);
    respond(request, response);
  };
  const server = tls ? createTlsServer(tls, listener) : createServer(listener);
  const port = await listen(server);
  return { origin: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, received, server };
}

/** Closes every server started here, keep-alive connections included. */
export async function closeServers(): Promise<void> {
  const closing = [...open].map((server) => {
    open.delete(server);
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  await Promise.all(closing);
}

/** Every value of header `name` in raw header lines, case-insensitively. */
export function valuesOf(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) values.push(rawHeaders[i + 1] ?? '');
  }
  return values;
}

/** The one request a downstream received; fails when it received another number. */
export function only(downstream: Downstream): Received {
  if (downstream.received.length !== 1) {
    throw new Error(`expected 1 request, received ${downstream.received.length}`);
  }
  return downstream.received[0]!;
}

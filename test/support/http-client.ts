// A small node:http client for tests against real servers on 127.0.0.1: exact control over
// repeated headers, keep-alive sockets and a body that arrives after the headers.
import {
  type Agent,
  get,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  request,
} from 'node:http';
import type { AddressInfo, Server } from 'node:net';

export interface SendOptions {
  method?: string;
  /** Header values given as arrays are sent as repeated header lines. */
  headers?: OutgoingHttpHeaders;
  /** JSON-encoded and sent with `content-type: application/json` unless `rawBody` is set. */
  json?: unknown;
  /** Sent as is (set `content-type` yourself). */
  rawBody?: string;
  /** Send the headers at once and the body this many milliseconds later. */
  bodyDelayMs?: number;
  agent?: Agent;
}

export interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

/** Sends one request to `base` (e.g. `http://127.0.0.1:1234`) + `path` and reads the whole reply. */
export function send(base: string, path: string, options: SendOptions = {}): Promise<Received> {
  const { method, json, rawBody, bodyDelayMs, agent } = options;
  const headers: OutgoingHttpHeaders = { ...options.headers };
  let body: string | undefined = rawBody;
  if (json !== undefined) {
    body = JSON.stringify(json);
    headers['content-type'] ??= 'application/json';
  }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);

  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { method: method ?? (body === undefined ? 'GET' : 'POST'), headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    req.on('error', reject);
    if (body === undefined) {
      req.end();
    } else if (bodyDelayMs === undefined) {
      req.end(body);
    } else {
      req.flushHeaders();
      setTimeout(() => req.end(body), bodyDelayMs);
    }
  });
}

/** `http.get(url)`, the way a handler calls another service; resolves with the reply's body. */
export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** The `http://127.0.0.1:<port>` of a listening server. */
export function baseUrl(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * Resolves once `count` callers have arrived; each caller waits for all of them. Lets a test
 * hold several requests open at the same time.
 */
export function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return function arrive(): Promise<void> {
    arrived += 1;
    if (arrived === count) release();
    return all;
  };
}

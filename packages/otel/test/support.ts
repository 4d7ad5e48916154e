import type { IncomingMessage, RequestListener, Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/**
 * node:http through `require`, the way OpenTelemetry's instrumentation patches it (its
 * require hook runs on the first `require` after the instrumentation is enabled).
 */
export function requireHttp(): typeof import('node:http') {
  return createRequire(import.meta.url)('node:http') as typeof import('node:http');
}

/** What a downstream server saw of one request, from its raw header lines. */
export interface Seen {
  path: string;
  /** Every value of the fork header, one per header line. */
  forkHeaders: string[];
  /** Every `baggage` header line. */
  baggageLines: string[];
  /** Every member named `x-fork-identifier` across all baggage lines. */
  forkMembers: string[];
}

export function seenOf(req: IncomingMessage, header = 'x-fork-identifier'): Seen {
  const forkHeaders: string[] = [];
  const baggageLines: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]?.toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === header) forkHeaders.push(value);
    if (name === 'baggage') baggageLines.push(value);
  }
  const forkMembers = baggageLines
    .flatMap((line) => line.split(','))
    .map((member) => member.trim())
    .filter((member) => member.startsWith('x-fork-identifier='));
  return { path: req.url ?? '', forkHeaders, baggageLines, forkMembers };
}

/** Listens on 127.0.0.1 with an ephemeral port; returns the base URL. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A downstream server that records what each request carried and answers 204. */
export function recorder(http: typeof import('node:http')): {
  server: Server;
  seen: Seen[];
} {
  const seen: Seen[] = [];
  const listener: RequestListener = (req, res) => {
    seen.push(seenOf(req));
    res.statusCode = 204;
    res.end();
  };
  return { server: http.createServer(listener), seen };
}

/** Calls `url` with node:http and resolves when the response has ended. */
export function httpGet(
  http: typeof import('node:http'),
  url: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

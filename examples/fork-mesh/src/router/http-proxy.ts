// The HTTP/1.1 half of the stand-in sidecar: a reverse proxy that picks the upstream per
// request and passes everything else through unchanged (header case, order and repetition).
import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';
import { headerMap } from './route-table.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded; Node
 * frames each side itself.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(rawHeaders: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(rawHeaders[i]!.toLowerCase()))
      kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  return kept;
}

/** An HTTP server that forwards each request to the port `resolve` picks for its headers. */
export function createHttpProxy(
  resolve: (headers: Record<string, string>) => number | undefined,
): Server {
  const agent = new Agent({ keepAlive: true });
  const server = createServer(function forward(req: IncomingMessage, res) {
    const port = resolve(headerMap(req.rawHeaders));
    if (port === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no route to host\n');
      return;
    }
    const upstream = request(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: req.url,
        headers: endToEnd(req.rawHeaders),
        agent,
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, endToEnd(response.rawHeaders));
        response.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream failed\n');
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.on('close', () => agent.destroy());
  return server;
}

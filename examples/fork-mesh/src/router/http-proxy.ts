// The HTTP/1.1 half of the stand-in sidecar: a reverse proxy that picks the upstream per
// request and passes everything else through unchanged (header case, order and repetition).
import {
  type ClientRequest,
  createServer,
  type IncomingMessage,
  request,
  type Server,
} from 'node:http';
import { keepAliveAgent, SERVER_KEEP_ALIVE_MS } from '../keep-alive.js';
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

/** What a reset keep-alive connection looks like to the client that picked it. */
const RESET = new Set(['ECONNRESET', 'EPIPE']);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** An HTTP server that forwards each request to the port `resolve` picks for its headers. */
export function createHttpProxy(
  resolve: (headers: Record<string, string>) => number | undefined,
): Server {
  const agent = keepAliveAgent();
  const server = createServer(function forward(req: IncomingMessage, res) {
    const port = resolve(headerMap(req.rawHeaders));
    if (port === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no route to host\n');
      return;
    }
    const bodyless = !hasBody(req);
    let upstream: ClientRequest;
    const send = (mayRetry: boolean) => {
      upstream = request(
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
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        // A reused keep-alive connection that the upstream closed as it was picked: the request
        // never arrived, so one without a body goes again on a new connection (the pattern the
        // Node docs give for request.reusedSocket).
        if (mayRetry && bodyless && upstream.reusedSocket && RESET.has(error.code ?? '')) {
          send(false);
        } else if (res.headersSent) {
          res.destroy();
        } else {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream failed\n');
        }
      });
      if (bodyless) upstream.end();
      else req.pipe(upstream);
    };
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    send(true);
  });
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  server.on('close', () => agent.destroy());
  return server;
}

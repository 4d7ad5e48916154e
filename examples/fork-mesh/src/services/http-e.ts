// Service E, the leaf: plain node:http with withForkContext. It calls nobody and reports what
// it saw, which is how the suites catch a fork that leaked or got lost on the way.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withForkContext } from '@kubefork/http';
import { hopRecord, receivedHeaders } from '../hop.js';
import { SERVER_KEEP_ALIVE_MS } from '../keep-alive.js';
import type { RunningService, ServiceOptions } from './service.js';

export async function start(options: ServiceOptions): Promise<RunningService> {
  const server = createServer(
    withForkContext(function chainLeaf(request, response) {
      if (request.method === 'GET' && request.url === '/healthz') {
        response.end('ok');
        return;
      }
      if (request.method !== 'GET' || request.url !== '/chain') {
        response.writeHead(404).end();
        return;
      }
      const hop = hopRecord('e', options.instance, receivedHeaders(request.rawHeaders));
      const body = JSON.stringify({ hops: [hop] });
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
    }),
  );
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

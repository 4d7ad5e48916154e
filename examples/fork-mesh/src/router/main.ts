// Runs the stand-in sidecar as a child process of the demo: one listening port per service of
// the chain (its "Service address"), each routing by the planned VirtualService of the service.
import { once } from 'node:events';
import { hasParent, type RequestHandlers, serveParent } from '../ipc.js';
import { SERVICES } from '../topology.js';
import { createGrpcProxy } from './grpc-proxy.js';
import { createHttpProxy } from './http-proxy.js';
import { type RouteConfig, RouteTable } from './route-table.js';

if (!hasParent()) {
  console.error('The router runs as a child process of the fork-mesh demo (see mesh.ts).');
  process.exit(2);
}

const table = new RouteTable();
const ports: Record<string, number> = {};
for (const service of SERVICES) {
  const resolve = (headers: Record<string, string>) => table.resolve(service.name, headers);
  const server = service.protocol === 'grpc' ? createGrpcProxy(resolve) : createHttpProxy(resolve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  ports[service.name] = typeof address === 'object' && address !== null ? address.port : 0;
}

const handlers: RequestHandlers = {
  configure(payload) {
    table.configure(payload as RouteConfig);
    return true;
  },
};
serveParent({ kind: 'ready', ports }, handlers);

// Service A of the gRPC hop: Express 5 over HTTP, calls B over one gRPC channel per request.

import { createRequire } from 'node:module';
import { identity, RELAY_PATH, REQUEST } from './grpc-service.js';
import { parseChildArgs } from './protocol.js';
import { createCounters, record, serveOrchestrator } from './service-process.js';
import { loadVariant } from './variants/variant.js';

const args = parseChildArgs();
const variant = await loadVariant(args.variant);
await variant.setup('express');
const express = createRequire(import.meta.url)('express') as typeof import('express');
const grpc = await import('@grpc/grpc-js');

const client = new grpc.Client(args.downstream ?? '', grpc.credentials.createInsecure(), {
  interceptors: await variant.grpcClientInterceptors(),
});

function relay(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(RELAY_PATH, identity, identity, REQUEST, (error, value) => {
      if (error || value === undefined) reject(error ?? new Error('empty gRPC response'));
      else resolve(value);
    });
  });
}

const counters = createCounters();
const app = express();
const middleware = await variant.expressMiddleware();
if (middleware) app.use(middleware);
app.get('/', async function relayOverGrpc(_req, res) {
  const body = await relay();
  record(counters, undefined, undefined, variant.currentFork());
  res.type('application/json').send(body);
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  serveOrchestrator(counters, typeof address === 'object' && address ? address.port : 0, () => {
    client.close();
    server.close();
  });
});

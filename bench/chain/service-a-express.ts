// Service A of the HTTP chain: Express 5, calls B with the global fetch for every request.

import { createRequire } from 'node:module';
import { parseChildArgs } from './protocol.js';
import { createCounters, record, serveOrchestrator } from './service-process.js';
import { loadVariant } from './variants/variant.js';

const args = parseChildArgs();
const downstream = args.downstream ?? '';
const variant = await loadVariant(args.variant);
await variant.setup('express');
const express = createRequire(import.meta.url)('express') as typeof import('express');

const counters = createCounters();
const app = express();
const middleware = await variant.expressMiddleware();
if (middleware) app.use(middleware);
app.get('/', async function relay(_req, res) {
  const response = await fetch(downstream);
  const body = await response.text();
  // Read after the await: the fork must survive the outbound call.
  record(counters, undefined, undefined, variant.currentFork());
  res.status(response.status).type('application/json').send(body);
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  serveOrchestrator(counters, typeof address === 'object' && address ? address.port : 0, () =>
    server.close(),
  );
});

// Service B of the HTTP chains: an Express 5 leaf that counts which carriers brought the fork.

import { createRequire } from 'node:module';
import { FORK_HEADER, parseChildArgs } from './protocol.js';
import { createCounters, record, serveOrchestrator } from './service-process.js';
import { loadVariant } from './variants/variant.js';

const args = parseChildArgs();
const variant = await loadVariant(args.variant);
await variant.setup('express');
// Loaded after the variant's setup, through require, so OpenTelemetry's hooks see it.
const express = createRequire(import.meta.url)('express') as typeof import('express');

const counters = createCounters();
const app = express();
const middleware = await variant.expressMiddleware();
if (middleware) app.use(middleware);
app.get('/', function leaf(req, res) {
  record(counters, req.headers[FORK_HEADER], req.headers.baggage, variant.currentFork());
  res.json({ ok: true });
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  serveOrchestrator(counters, typeof address === 'object' && address ? address.port : 0, () =>
    server.close(),
  );
});

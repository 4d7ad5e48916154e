// Service A of the Fastify chain: Fastify 5, calls B with the global fetch for every request.

import { createRequire } from 'node:module';
import { parseChildArgs } from './protocol.js';
import { createCounters, record, serveOrchestrator } from './service-process.js';
import { loadVariant } from './variants/variant.js';

const args = parseChildArgs();
const downstream = args.downstream ?? '';
const variant = await loadVariant(args.variant);
await variant.setup('fastify');
const fastify = createRequire(import.meta.url)('fastify') as typeof import('fastify').default;

const counters = createCounters();
const app = fastify({ logger: false });
await variant.registerFastify(app);
app.get('/', async function relay(_request, reply) {
  const response = await fetch(downstream);
  const body = await response.text();
  record(counters, undefined, undefined, variant.currentFork());
  return reply.code(response.status).type('application/json').send(body);
});

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
serveOrchestrator(counters, typeof address === 'object' && address ? address.port : 0, () =>
  app.close(),
);

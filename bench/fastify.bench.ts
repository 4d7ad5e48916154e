// Fastify chain: load generator → A (Fastify 5) → fetch → B (Express 5), three processes.
//
//   pnpm bench fastify                    # from the repository root (builds first)
//   BENCH_QUICK=1 node run.mjs fastify    # smoke run, from bench/

import { benchChain } from './chain/bench-chain.js';
import { HTTP_EXPECTATIONS } from './chain/expectations.js';

await benchChain({
  id: 'fastify',
  title: 'Fastify chain: load → A (Fastify 5) → fetch → B (Express 5)',
  a: 'service-a-fastify.ts',
  b: 'service-b-express.ts',
  protocol: 'http',
  variants: ['bare', 'minimum', 'kubefork', 'otel'],
  expect: HTTP_EXPECTATIONS,
});

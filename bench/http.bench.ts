// HTTP chain: load generator → A (Express 5) → fetch → B (Express 5), three processes.
//
//   pnpm bench http                       # from the repository root (builds first)
//   BENCH_QUICK=1 node run.mjs http       # smoke run, from bench/
// Options (rounds, windows, connections, profiling): see chain/options.ts.

import { benchChain } from './chain/bench-chain.js';
import { HTTP_EXPECTATIONS } from './chain/expectations.js';

await benchChain(
  {
    id: 'http',
    title: 'HTTP chain: load → A (Express 5) → fetch → B (Express 5)',
    a: 'service-a-express.ts',
    b: 'service-b-express.ts',
    protocol: 'http',
    variants: ['bare', 'minimum', 'kubefork', 'otel'],
    expect: HTTP_EXPECTATIONS,
  },
  { ceiling: true },
);

// gRPC hop: load generator → A (Express 5) → unary gRPC → B (grpc-js), three processes.
//
//   pnpm bench grpc                       # from the repository root (builds first)
//   BENCH_QUICK=1 node run.mjs grpc       # smoke run, from bench/

import { benchChain } from './chain/bench-chain.js';
import { GRPC_EXPECTATIONS } from './chain/expectations.js';

await benchChain({
  id: 'grpc',
  title: 'gRPC hop: load → A (Express 5) → unary gRPC → B (grpc-js)',
  a: 'service-a-grpc.ts',
  b: 'service-b-grpc.ts',
  protocol: 'grpc',
  variants: ['bare', 'minimum', 'kubefork'],
  expect: GRPC_EXPECTATIONS,
});

import { defineProject } from 'vitest/config';

// `pnpm test:cluster`: suites against a real kube-apiserver (see README.md). Each file starts its
// own control plane; two at once would share the 2 CI cores with two API servers.
export default defineProject({
  test: {
    name: 'cluster',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    // A real API server and controller take longer than vitest's 1 s polling default.
    expect: { poll: { timeout: 15_000, interval: 50 } },
  },
});

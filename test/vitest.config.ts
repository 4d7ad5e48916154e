import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'e2e',
    include: ['**/*.test.ts'],
    // test/cluster has its own project (pnpm test:cluster): it needs a real control plane;
    // test/conformance is its own project too.
    exclude: ['**/node_modules/**', 'cluster/**', 'conformance/**'],
    testTimeout: 60_000,
    // beforeAll starts the fork-mesh: eight Node processes, slow on a busy 2-core CI machine.
    hookTimeout: 60_000,
  },
});

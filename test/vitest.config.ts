import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'e2e',
    include: ['**/*.test.ts'],
    // test/cluster and test/packages have their own configs (pnpm test:cluster, test:packages):
    // they need a real control plane, and the npm registry; test/conformance is its own project.
    exclude: ['**/node_modules/**', 'cluster/**', 'packages/**', 'conformance/**'],
    testTimeout: 60_000,
    // beforeAll starts the fork-mesh: eight Node processes, slow on a busy 2-core CI machine.
    hookTimeout: 60_000,
  },
});

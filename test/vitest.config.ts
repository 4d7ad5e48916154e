import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'e2e',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 60_000,
    // beforeAll starts the fork-mesh: eight Node processes, slow on a busy 2-core CI machine.
    hookTimeout: 60_000,
  },
});

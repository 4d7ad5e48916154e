import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'conformance',
    include: ['**/*.test.ts'],
    // queues.broker.test.ts needs real brokers: vitest.brokers.config.ts runs it.
    exclude: ['**/node_modules/**', '**/*.broker.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

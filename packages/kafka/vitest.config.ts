import { configDefaults, defineProject } from 'vitest/config';

// Suites that need a real Kafka broker (`*.broker.test.ts`) run with `pnpm test:brokers`
// (vitest.brokers.config.ts at the root), so `pnpm test` needs only Node and npm.
export default defineProject({
  test: {
    name: 'kafka',
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, '**/*.broker.test.ts'],
  },
});

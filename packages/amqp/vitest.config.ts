import { configDefaults, defineProject } from 'vitest/config';

// Suites that need a real RabbitMQ (`*.broker.test.ts`) run in the root `brokers` project
// (`pnpm test:brokers`), so that `pnpm test` passes on a machine with Node and npm alone.
export default defineProject({
  test: {
    name: 'amqp',
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, '**/*.broker.test.ts'],
  },
});

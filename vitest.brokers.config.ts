import { defineConfig } from 'vitest/config';

// Suites that need real message brokers (RabbitMQ, NATS, Kafka), started by the tests themselves.
// `pnpm test:brokers`; .ci/run installs the brokers first (.ci/brokers/).
const json = process.env.KUBEFORK_TEST_JSON;

export default defineConfig({
  test: {
    name: 'brokers',
    include: [
      'packages/*/test/**/*.broker.test.ts',
      'examples/*/test/**/*.broker.test.ts',
      'test/conformance/**/*.broker.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});

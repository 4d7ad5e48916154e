import { defineProject } from 'vitest/config';

export default defineProject({
  // The tests start real processes and servers; a busy 2-core machine must not turn that into a
  // timeout.
  test: { name: 'controller', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});

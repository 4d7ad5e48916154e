import { defineProject } from 'vitest/config';

// Offline tests: the built bin as a child process (manifest, --help, usage errors, output).
export default defineProject({
  test: { name: 'cli', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});

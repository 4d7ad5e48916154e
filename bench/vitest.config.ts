import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'bench',
    include: ['test/**/*.test.ts'],
    // The smoke test starts ~30 processes; CI machines are shared and slow.
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});

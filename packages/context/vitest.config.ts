import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'context', include: ['test/**/*.test.ts'] },
});

import { defineConfig } from 'vitest/config';

// `pnpm test:packages`: the packed tarballs of every package installed into fresh apps outside
// the workspace with npm and the registry's newest peers for the running Node (test/packages).
// Needs the registry; ~2-4 min per Node line, most of it npm install.
const json = process.env.KUBEFORK_TEST_JSON;

export default defineConfig({
  test: {
    name: 'packages',
    include: ['test/packages/**/*.test.ts'],
    globalSetup: ['test/packages/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});

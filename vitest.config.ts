import { defineConfig } from 'vitest/config';

// One project per package plus the cross-package suites in test/. CI sets KUBEFORK_TEST_JSON to
// also write vitest's JSON report, which .ci/run sums over the Node matrix.
const json = process.env.KUBEFORK_TEST_JSON;

export default defineConfig({
  test: {
    projects: ['packages/*', 'test', 'test/conformance', 'bench'],
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});

import { defineConfig } from 'vitest/config';

// `pnpm test:cluster`: the suites that need a real Kubernetes control plane (test/cluster). The
// binaries are built once by test/cluster/build.sh (Go and the Go module proxy needed).
const json = process.env.KUBEFORK_TEST_JSON;

export default defineConfig({
  test: {
    projects: ['test/cluster'],
    reporters: json ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});

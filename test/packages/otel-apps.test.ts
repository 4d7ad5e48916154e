// @kubefork/otel in an OpenTelemetry 2 app (every Node line) and an OpenTelemetry 3 app (Node ≥ 22:
// the 3.x SDK needs Node 22.15): both typecheck without skipLibCheck (forkSpanProcessor() fits the
// SDK's SpanProcessor and is not `any`) and run a span through forkSpanProcessor.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type App, createApp, lastJson, nodeMajor, run } from './support.js';

const setups: Record<string, Record<string, string>> = {
  otel2: {
    '@opentelemetry/api': '~1.9.0',
    '@opentelemetry/core': '^2',
    '@opentelemetry/sdk-trace-node': '^2',
    '@types/node': `^${nodeMajor}`,
    typescript: 'latest',
  },
};
if (nodeMajor >= 22) {
  setups.otel3 = {
    '@opentelemetry/api': '^1.10.0',
    '@opentelemetry/core': '^3',
    '@opentelemetry/sdk-node': '>=0.300.0 <1',
    '@opentelemetry/sdk-trace': '^3',
    '@types/node': `^${nodeMajor}`,
    typescript: 'latest',
  };
}

const ours = (tarballs: Record<string, string>) => ({
  '@kubefork/context': tarballs['@kubefork/context'] ?? '',
  '@kubefork/otel': tarballs['@kubefork/otel'] ?? '',
});

describe.each(Object.keys(setups))('an OpenTelemetry app (%s)', (fixture) => {
  let app: App;

  beforeAll(() => {
    app = createApp(fixture, ours(inject('tarballs')), setups[fixture] ?? {});
    console.log(`${fixture} on node ${process.versions.node}: ${JSON.stringify(app.versions)}`);
  });

  afterAll(() => app?.remove());

  it('tags the span started in a fork and injects the fork', () => {
    const build = run(app.dir, join(app.dir, 'node_modules', '.bin', 'tsc'), [
      '-p',
      'tsconfig.json',
    ]);
    expect(build.stdout + build.stderr).toBe('');
    const result = lastJson<{ spans: unknown[]; carrier: Record<string, string> }>(
      run(app.dir, process.execPath, ['dist/otel.js']),
    );
    expect(result.spans).toEqual([
      { name: 'in-fork', fork: 'alice' },
      { name: 'outside', fork: null },
    ]);
    expect(result.carrier['x-fork-identifier']).toBe('alice');
    expect(result.carrier.baggage).toContain('x-fork-identifier=alice');
  });
});

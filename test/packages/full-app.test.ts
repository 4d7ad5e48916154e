// Every packed package installed into a fresh app outside the workspace, with the newest majors
// of the peers that run on this Node line: Express 5, Fastify 5, @grpc/grpc-js 1, undici 8 on
// Node ≥ 22 (undici 7 on Node 20), the newest TypeScript, no skipLibCheck.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type App,
  createApp,
  lastJson,
  nodeMajor,
  type Output,
  peerProblems,
  run,
} from './support.js';

const registry = {
  '@grpc/grpc-js': '^1',
  '@nats-io/nats-core': '^3',
  '@opentelemetry/api': '^1',
  '@types/express': '^5',
  '@types/node': `^${nodeMajor}`,
  amqplib: '^2',
  express: '^5',
  fastify: '^5',
  kafkajs: '^2',
  typescript: 'latest',
  undici: nodeMajor >= 22 ? '^8' : '^7',
};

let app: App;
let build: Output;

beforeAll(() => {
  app = createApp('full', inject('tarballs'), registry);
  console.log(`node ${process.versions.node}, installed: ${JSON.stringify(app.versions)}`);
  build = run(app.dir, join(app.dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json']);
});

afterAll(() => app?.remove());

describe(`a fresh app on Node ${nodeMajor}`, () => {
  it('installs every package with each peer inside its declared range', () => {
    expect(peerProblems(app.dir, inject('tarballs'))).toEqual([]);
  });

  it('typechecks and builds with moduleResolution NodeNext (ESM and a .cts file)', () => {
    expect(build.stdout + build.stderr).toBe('');
    expect(build.status).toBe(0);
  });

  it('typechecks with moduleResolution Bundler', () => {
    const bundler = run(app.dir, join(app.dir, 'node_modules', '.bin', 'tsc'), [
      '-p',
      'tsconfig.bundler.json',
    ]);
    expect(bundler.stdout + bundler.stderr).toBe('');
    expect(bundler.status).toBe(0);
  });

  it('loads every package with import and with require, with the same exports', () => {
    const imported = lastJson<{ keys: Record<string, string[]> }>(
      run(app.dir, process.execPath, ['dist/import.js']),
    );
    const required = lastJson<{ keys: Record<string, string[]>; id: string }>(
      run(app.dir, process.execPath, ['dist/require.cjs']),
    );
    expect(Object.keys(imported.keys)).toHaveLength(14);
    expect(required.keys).toEqual(imported.keys);
    expect(imported.keys.context).toContain('getForkId');
    expect(imported.keys.integration).toContain('forkConfig');
    expect(imported.keys.otel).toEqual([
      'FORK_ID_ATTRIBUTE',
      'ForkPropagator',
      'forkSpanProcessor',
    ]);
    expect(required.id).toBe('dave');
  });

  it('carries a fork through Express, Fastify with undici, fetch and gRPC', () => {
    const result = lastJson<Record<string, unknown>>(
      run(app.dir, process.execPath, ['dist/smoke.js']),
    );
    expect(result).toEqual({
      express: 'alice',
      fastify: 'bob',
      grpc: 'carol',
      downstream: { '/express-fetch': 'alice', '/fastify-undici': 'bob' },
    });
  });

  it('runs the kubefork and kubefork-controller bins', () => {
    const bin = (name: string) => join(app.dir, 'node_modules', '.bin', name);
    const cli = run(app.dir, bin('kubefork'), ['--help']);
    expect(cli.stdout).toMatch(/^Usage: kubefork <command>/);
    expect(cli.status).toBe(0);
    const controller = run(app.dir, bin('kubefork-controller'), ['--help']);
    expect(controller.stdout).toMatch(/^Usage: kubefork-controller <command>/);
    expect(controller.status).toBe(0);
  });
});

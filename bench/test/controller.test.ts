// The controller benchmark on the fake API server, in quick mode, the way `pnpm bench` runs it:
// it must converge with the minimum of writes and write nothing on a no-op pass. Never asserts
// on timings. controller-cluster.bench.ts is not run here: it needs the control plane of
// test/cluster/build.sh (Go), which a machine with only Node and npm cannot build.

import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { controllerBenchOptions, hostsOf, routesPerHost } from '../controller/options.js';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('controllerBenchOptions', () => {
  it('defaults to the issue’s scale: 10,000 VSConfigs over 1,000 hosts', () => {
    const options = controllerBenchOptions({});
    expect(options.hosts * options.forks).toBe(10_000);
    expect(options.hosts).toBe(1000);
    expect(routesPerHost(options)).toBe(21);
  });

  it('shrinks in quick mode, and each variable still overrides', () => {
    const quick = controllerBenchOptions({ BENCH_QUICK: '1' });
    expect(quick.hosts * quick.forks).toBeLessThan(100);
    expect(controllerBenchOptions({ BENCH_QUICK: '1', BENCH_HOSTS: '30' }).hosts).toBe(30);
  });

  it('rejects a setting that is not a positive integer, naming the variable', () => {
    expect(() => controllerBenchOptions({ BENCH_HOSTS: 'many' })).toThrow(/BENCH_HOSTS.*"many"/);
    expect(() => controllerBenchOptions({ BENCH_FORKS: '0' })).toThrow(TypeError);
  });

  it('spreads hosts round-robin over the namespaces', () => {
    const hosts = hostsOf(controllerBenchOptions({ BENCH_HOSTS: '5', BENCH_NAMESPACES: '2' }));
    expect(hosts.map((h) => `${h.namespace}/${h.host}`)).toEqual([
      'team-0/svc-0',
      'team-1/svc-1',
      'team-0/svc-2',
      'team-1/svc-3',
      'team-0/svc-4',
    ]);
  });
});

it('controller.bench.ts converges with the minimum of writes and no-op passes write nothing', async () => {
  const { stdout, stderr, code } = await new Promise<{
    stdout: string;
    stderr: string;
    code: number | null;
  }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'controller.bench.ts'],
      { cwd: bench, env: { ...process.env, BENCH_QUICK: '1' } },
      (_error, out, err) => resolve({ stdout: out, stderr: err, code: child.exitCode }),
    );
  });
  expect(code, stderr).toBe(0);
  expect(stdout).toContain('| start → converged (40 VSConfigs, 20 hosts, 4 workers) |');
  expect(stdout).toMatch(
    /\| {3}API writes \| 60 \| 20 VirtualService applies \+ 40 status patches .*× minimum: 1\.00 \|/,
  );
  expect(stdout).toMatch(/\| no-op resync \(20 hosts reconciled\) \| 0 writes \|/);
  expect(stdout).toMatch(/\| restart, everything converged \| 0 writes \|/);
  expect(stdout).toMatch(
    /\| one VSConfig changed → VirtualService updated \| [\d.]+ ms median \| .* over 3 changes; 2\.0 writes per change \|/,
  );
});

// The demo topology as a test: A (Express) → B (Fastify) → C (gRPC) → E (node:http) with
// alice's forks of B and E and bob's fork of E, routed by VirtualServices planned from the
// VSConfigs in examples/fork-mesh/k8s/forks; every hop of every demo request checked.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DEMO_CASES,
  expectedInstance,
  FORKS_DIR,
  type Mesh,
  reasonsSince,
  requestChain,
  SERVICES,
  startMesh,
} from '@kubefork/example-fork-mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, waitUntilGone } from './support/processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const DEMO = join(here, '../examples/fork-mesh/dist/demo.js');
const run = promisify(execFile);

/** Runs the demo CLI; resolves with its exit code and output whatever the code. */
async function demo(...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [DEMO, ...args], { timeout: 60_000 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}

describe('the fork-mesh demo', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh();
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it('runs one process per instance: the baseline of A, B, C, E and the forks the VSConfigs name', () => {
    expect(mesh.instances.map((instance) => [instance.name, instance.integration])).toEqual([
      ['a', 'Express'],
      ['b', 'Fastify'],
      ['c', 'gRPC'],
      ['e', 'node:http'],
      ['b-alice', 'Fastify'],
      ['e-alice', 'node:http'],
      ['e-bob', 'node:http'],
    ]);
    const pids = new Set([mesh.routerPid, ...mesh.instances.map((instance) => instance.pid)]);
    expect(pids.size).toBe(8);
  });

  it('plans one VirtualService for each forked host (b, e) and none for a and c', () => {
    const routes = Object.fromEntries(
      [...mesh.virtualServices].map(([host, vs]) => [host, vs.spec.http?.map((r) => r.name)]),
    );
    expect(routes).toEqual({
      b: ['kubefork-alice', 'kubefork-alice-baggage', 'default'],
      e: [
        'kubefork-alice',
        'kubefork-bob',
        'kubefork-alice-baggage',
        'kubefork-bob-baggage',
        'default',
      ],
    });
  });

  it('has hand-written expectations that agree with the VSConfigs', () => {
    for (const demoCase of DEMO_CASES) {
      for (const { name } of SERVICES) {
        expect([demoCase.label, name, demoCase.expect[name]]).toEqual([
          demoCase.label,
          name,
          expectedInstance(mesh.vsconfigs, name, demoCase.fork),
        ]);
      }
    }
  });

  for (const demoCase of DEMO_CASES) {
    const route = SERVICES.map(({ name }) => demoCase.expect[name]).join(' → ');
    it(`${demoCase.label}: ${route}, in fork ${demoCase.fork ?? 'none'} at every hop`, async () => {
      const before = (await mesh.stats('a')).invalid;
      const result = await requestChain(mesh.url, demoCase.headers);
      const after = (await mesh.stats('a')).invalid;

      expect(result.status).toBe(200);
      expect(
        result.hops.map(({ service, instance, fork }) => ({ service, instance, fork })),
      ).toEqual(
        SERVICES.map(({ name }) => ({
          service: name,
          instance: demoCase.expect[name],
          fork: demoCase.fork,
        })),
      );
      // Each hop after A received the fork exactly once, as the header and as our baggage member.
      for (const hop of result.hops.slice(1)) {
        expect({ instance: hop.instance, header: hop.header, baggage: hop.baggage }).toEqual({
          instance: hop.instance,
          header: demoCase.fork === null ? [] : [demoCase.fork],
          baggage: demoCase.fork === null ? [] : [`x-fork-identifier=${demoCase.fork}`],
        });
      }
      expect(reasonsSince(before, after)).toEqual(
        demoCase.invalid === undefined ? [] : [demoCase.invalid],
      );
    });
  }

  it('prints a row per request and exits 0 when every hop went to the right instance', async () => {
    const { code, stdout } = await demo();
    expect(code).toBe(0);
    for (const demoCase of DEMO_CASES) {
      const row = stdout.split('\n').find((line) => line.startsWith(demoCase.label));
      const instances = SERVICES.map(({ name }) => demoCase.expect[name]);
      expect(row?.split(/\s{2,}/).slice(1, 5)).toEqual(instances);
      expect(row).toContain('✓');
    }
    expect(stdout).toContain(
      `All ${DEMO_CASES.length} requests: every hop went to the right instance.`,
    );
  }, 90_000);

  it('exits 1 and names the hop when a request goes to the wrong instance', async () => {
    // A mesh without bob's fork of E: bob's request then ends at the shared E.
    const forks = mkdtempSync(join(tmpdir(), 'fork-mesh-'));
    let partial: Mesh | undefined;
    try {
      for (const file of ['b-alice.yaml', 'e-alice.yaml']) {
        copyFileSync(join(FORKS_DIR, file), join(forks, file));
      }
      partial = await startMesh({ forksDir: forks });
      const { code, stdout } = await demo('--target', partial.url);
      expect(code).toBe(1);
      expect(stdout).toContain('x-fork-identifier: bob: e was served by e, expected e-bob');
      expect(stdout).toContain('1 of 6 requests went wrong');
    } finally {
      await partial?.stop();
      rmSync(forks, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('the fork-mesh processes', () => {
  it('are all gone once stop() resolves', async () => {
    const mesh = await startMesh();
    const pids = [mesh.routerPid!, ...mesh.instances.map((instance) => instance.pid!)];
    expect(pids.filter(isRunning)).toHaveLength(8);
    await mesh.stop();
    expect(pids.filter(isRunning)).toEqual([]);
  });

  it('exit on their own when the process that started them is killed', async () => {
    const script = `
      import { startMesh } from '@kubefork/example-fork-mesh';
      const mesh = await startMesh();
      console.log(JSON.stringify([mesh.routerPid, ...mesh.instances.map((i) => i.pid)]));
      setInterval(() => {}, 1000);
    `;
    const orchestrator = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: here,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pids = await new Promise<number[]>((resolve, reject) => {
      let out = '';
      orchestrator.stdout.setEncoding('utf8');
      orchestrator.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
      });
      orchestrator.on('exit', (code) => reject(new Error(`orchestrator exited (${code})`)));
    });
    expect(pids.filter(isRunning)).toHaveLength(8);
    orchestrator.kill('SIGKILL');
    await waitUntilGone(pids);
  });
});

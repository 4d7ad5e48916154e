// Memory: a fork id must not leave anything behind. After a warm-up, 50,000 more requests
// through the chain must not grow any service's heap (measured after full collections).
import {
  expectedInstance,
  type Mesh,
  type ServiceName,
  startMesh,
} from '@kubefork/example-fork-mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkIds, type LoadOptions, runChainLoad } from './support/chain-load.js';

const WARM_UP = 5_000;
const REQUESTS = 50_000;
/** Heap after the run may exceed the heap after warm-up by at most this share. */
const TOLERANCE = 0.1;

describe('the fork-mesh services after 50,000 requests', () => {
  let mesh: Mesh;
  let load: Omit<LoadOptions, 'requests' | 'seed'>;

  beforeAll(async () => {
    mesh = await startMesh({ execArgv: ['--expose-gc'] });
    load = {
      url: mesh.url,
      concurrency: 100,
      forkIds: forkIds(100),
      baselineShare: 0.3,
      expectedInstance: (service: ServiceName, fork: string | null) =>
        expectedInstance(mesh.vsconfigs, service, fork),
    };
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  async function heaps(): Promise<Record<string, number>> {
    const entries = await Promise.all(
      mesh.instances.map(async ({ name }) => [name, await mesh.heapAfterGc(name)] as const),
    );
    return Object.fromEntries(entries);
  }

  it('keeps the heap of every service, after GC, within 10 % of its heap after warm-up', async () => {
    // Warm-up fills every connection pool to its largest size first: each keep-alive connection
    // holds memory on both ends, and in the random mix the most requests in flight at one fork
    // instance keeps growing with the length of the run. A phase at full concurrency for each
    // route (baseline, alice, bob) reaches that size at once; the mix then warms up the rest.
    const phases = [
      { forkIds: [], baselineShare: 1 },
      { forkIds: ['alice'], baselineShare: 0 },
      { forkIds: ['bob'], baselineShare: 0 },
    ];
    for (const [index, phase] of phases.entries()) {
      const report = await runChainLoad({ ...load, ...phase, requests: 1_000, seed: index });
      expect(report.failed).toBe(0);
    }
    const warmUp = await runChainLoad({ ...load, requests: WARM_UP - 3_000, seed: 3 });
    expect(warmUp.failed).toBe(0);
    const before = await heaps();

    const run = await runChainLoad({ ...load, requests: REQUESTS, seed: 4 });
    expect(run.samples).toEqual([]);
    expect(run).toMatchObject({ failed: 0, mismatches: 0, leaks: 0, misrouted: 0 });
    const after = await heaps();

    const rows = mesh.instances.map(({ name }) => {
      const growth = after[name]! / before[name]! - 1;
      return `${name.padEnd(8)} ${(before[name]! / 1e6).toFixed(2)} MB → ${(after[name]! / 1e6).toFixed(2)} MB (${(growth * 100).toFixed(1)} %)`;
    });
    console.info(`memory: ${REQUESTS} requests in ${run.milliseconds} ms\n${rows.join('\n')}`);
    for (const { name } of mesh.instances) {
      expect(after[name], `heap of ${name} after GC`).toBeLessThanOrEqual(
        before[name]! * (1 + TOLERANCE),
      );
    }
  }, 600_000);
});

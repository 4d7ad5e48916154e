// Isolation under load: many requests of many forks interleaved on shared keep-alive
// connections through every integration; each must stay in its own fork at every hop.
import {
  expectedInstance,
  type Mesh,
  type ServiceName,
  startMesh,
} from '@kubefork/example-fork-mesh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkIds, runChainLoad } from './support/chain-load.js';

describe('the fork-mesh chain A (Express) → B (Fastify) → C (gRPC) → E (node:http) under load', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh();
  });

  afterAll(async () => {
    await mesh?.stop();
  });

  it('keeps 10,000 requests at concurrency 200 (100 forks, 30 % baseline) in their own fork at every hop', async () => {
    const report = await runChainLoad({
      url: mesh.url,
      requests: 10_000,
      concurrency: 200,
      forkIds: forkIds(100),
      baselineShare: 0.3,
      seed: 0x6b66,
      expectedInstance: (service: ServiceName, fork: string | null) =>
        expectedInstance(mesh.vsconfigs, service, fork),
    });
    console.info(
      `isolation: ${report.requests} requests in ${report.milliseconds} ms on ${report.connections} connections`,
    );

    expect(report.samples).toEqual([]);
    expect(report).toMatchObject({ failed: 0, mismatches: 0, leaks: 0, misrouted: 0 });
    expect(report.leafHeaderErrors).toBe(0);
    // Keep-alive: the client reused its connections instead of opening one per request.
    expect(report.connections).toBeLessThanOrEqual(200);
    // The mix reached every fork instance and the baseline share is about 30 %.
    expect(report.served['b-alice']).toBeGreaterThan(0);
    expect(report.served['e-alice']).toBeGreaterThan(0);
    expect(report.served['e-bob']).toBeGreaterThan(0);
    expect(report.baseline / report.requests).toBeCloseTo(0.3, 1);
    expect(mesh.exited()).toEqual([]);
  }, 240_000);
});

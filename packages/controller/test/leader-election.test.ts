// Two replicas with Lease leader election, each with its own credentials (token) so the fake
// server can tell whose requests it serves. Durations are scaled down from 15 s / 10 s / 2 s.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Controller } from '../src/index.js';
import { FakeCluster, settled } from './support/cluster.js';
import type { RequestRecord } from './support/fake-api/server.js';

const NS = 'shop';
const ELECTION = {
  leaseDurationSeconds: 2,
  renewDeadlineMs: 1000,
  retryPeriodMs: 100,
  leaseNamespace: 'kubefork-system',
};
let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start();
  cluster.createServices(NS, 'cart', 'cart-alice', 'cart-bob', 'pay', 'pay-alice');
});

afterEach(async () => {
  await cluster.close();
});

function startReplica(name: string): Promise<Controller> {
  return cluster.startController({ token: name, leaderElection: { ...ELECTION, identity: name } });
}

function lease(): { holderIdentity?: string; leaseTransitions?: number } | undefined {
  const type = cluster.server.store.type('coordination.k8s.io', 'v1', 'leases')!;
  const object = cluster.server.store.tryGet(
    type,
    'coordination.k8s.io/v1',
    'kubefork-system',
    'kubefork-controller',
  );
  return object?.spec as { holderIdentity?: string } | undefined;
}

const writers = (match?: (r: RequestRecord) => boolean) =>
  [...new Set(cluster.routingWrites(match).map((r) => r.user))].sort();

it('lets only the replica holding the lease write', async () => {
  const a = await startReplica('replica-a');
  const b = await startReplica('replica-b');
  await expect.poll(() => [a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
  cluster.applyVSConfig(NS, 'cart-alice', {
    headerValue: 'alice',
    host: 'cart',
    service: 'cart-alice',
  });
  cluster.applyVSConfig(NS, 'pay-alice', {
    headerValue: 'alice',
    host: 'pay',
    service: 'pay-alice',
  });
  await expect.poll(() => cluster.readiness(NS, 'pay-alice')).toBe('True/Accepted');
  await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
  const leader = a.isLeader() ? a : b;
  await settled(leader);
  expect(writers()).toEqual([leader.identity]);
  expect(lease()?.holderIdentity).toBe(leader.identity);
  expect([a.isReady(), b.isReady()]).toEqual([true, true]);
});

it('hands over to the standby when the leader stops, which releases the lease', async () => {
  const a = await startReplica('replica-a');
  await expect.poll(() => a.isLeader()).toBe(true);
  const b = await startReplica('replica-b');
  cluster.applyVSConfig(NS, 'cart-alice', {
    headerValue: 'alice',
    host: 'cart',
    service: 'cart-alice',
  });
  await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
  await cluster.stopController(a);
  expect(lease()?.holderIdentity).not.toBe('replica-a');
  await expect.poll(() => b.isLeader()).toBe(true);
  const from = cluster.server.requests.length;
  cluster.applyVSConfig(NS, 'cart-bob', { headerValue: 'bob', host: 'cart', service: 'cart-bob' });
  await expect.poll(() => cluster.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  expect(writers((r) => cluster.server.requests.indexOf(r) >= from)).toEqual(['replica-b']);
  expect(lease()?.holderIdentity).toBe('replica-b');
});

it('steps down when it cannot renew, before the standby may take over', async () => {
  const a = await startReplica('replica-a');
  await expect.poll(() => a.isLeader()).toBe(true);
  const b = await startReplica('replica-b');
  cluster.applyVSConfig(NS, 'cart-alice', {
    headerValue: 'alice',
    host: 'cart',
    service: 'cart-alice',
  });
  await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');

  // replica-a's lease updates fail from now on (it still reaches everything else).
  cluster.server.inject({
    match: (r) => r.user === 'replica-a' && r.plural === 'leases' && r.verb === 'update',
    status: 500,
  });
  await expect.poll(() => a.isLeader(), { timeout: 5000 }).toBe(false);
  const steppedDown = performance.now();
  await expect.poll(() => b.isLeader(), { timeout: 10_000 }).toBe(true);
  const tookOver = performance.now();
  expect(tookOver).toBeGreaterThan(steppedDown);
  cluster.applyVSConfig(NS, 'cart-bob', { headerValue: 'bob', host: 'cart', service: 'cart-bob' });
  await expect.poll(() => cluster.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  const lastWriteOfA = Math.max(
    ...cluster.routingWrites((r) => r.user === 'replica-a').map((r) => r.at),
  );
  const firstWriteOfB = Math.min(
    ...cluster.routingWrites((r) => r.user === 'replica-b').map((r) => r.at),
  );
  expect(lastWriteOfA).toBeLessThan(firstWriteOfB);
  expect(lease()?.leaseTransitions).toBe(1);
});

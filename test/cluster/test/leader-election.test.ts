// Two replicas electing a leader through a real coordination.k8s.io Lease, each with a token of
// its own (the same ServiceAccount, as two pods of the Deployment would have) so that the proxy
// can tell whose requests it forwards. Durations are scaled down from 15 s / 10 s / 2 s.

import type { Controller } from '@kubefork/controller';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ProxiedRequest } from '../src/index.js';
import { ControllerCluster, settled } from './support/controller-cluster.js';

const ELECTION = {
  leaseDurationSeconds: 2,
  renewDeadlineMs: 1000,
  retryPeriodMs: 100,
  leaseNamespace: 'kubefork-system',
};
let k: ControllerCluster;
let NS: string;

beforeAll(async () => {
  k = await ControllerCluster.start();
});

afterAll(async () => {
  await k?.close();
});

beforeEach(async () => {
  NS = await k.namespace();
  await k.createServices(NS, 'cart', 'cart-alice', 'cart-bob');
});

afterEach(async () => {
  await k.stopControllers();
  // Each test starts without a Lease, as a fresh deployment would.
  await k.cluster.admin.request(
    'DELETE',
    '/apis/coordination.k8s.io/v1/namespaces/kubefork-system/leases/kubefork-controller',
    { allowError: true },
  );
});

function startReplica(name: string): Promise<Controller> {
  return k.startController({
    namespace: NS,
    replica: name,
    leaderElection: { ...ELECTION, identity: name },
  });
}

async function lease(): Promise<
  { holderIdentity?: string; leaseTransitions?: number } | undefined
> {
  const { status, body } = await k.cluster.admin.request<{ spec: { holderIdentity?: string } }>(
    'GET',
    '/apis/coordination.k8s.io/v1/namespaces/kubefork-system/leases/kubefork-controller',
    { allowError: true },
  );
  return status === 200 ? body.spec : undefined;
}

const routingWrites = (match: (r: ProxiedRequest) => boolean = () => true) =>
  k.proxy.writes(
    (r) =>
      r.namespace === NS &&
      (r.plural === 'virtualservices' || r.plural === 'vsconfigs') &&
      match(r),
  );
const writers = (match?: (r: ProxiedRequest) => boolean) =>
  [...new Set(routingWrites(match).map((r) => r.user))].sort();
const fork = (name: string, value: string) =>
  k.applyVSConfig(NS, name, { headerValue: value, host: 'cart', service: name });

it('lets only the replica holding the lease write', async () => {
  const a = await startReplica('replica-a');
  const b = await startReplica('replica-b');
  await expect.poll(() => [a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
  await fork('cart-alice', 'alice');
  await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
  const leader = a.isLeader() ? a : b;
  await settled(leader);
  expect(writers()).toEqual([leader.identity]);
  expect((await lease())?.holderIdentity).toBe(leader.identity);
  expect([a.isReady(), b.isReady()]).toEqual([true, true]);
});

it('hands over to the standby when the leader stops, which releases the lease', async () => {
  const a = await startReplica('replica-a');
  await expect.poll(() => a.isLeader()).toBe(true);
  const b = await startReplica('replica-b');
  await fork('cart-alice', 'alice');
  await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
  await k.stopController(a);
  expect((await lease())?.holderIdentity).not.toBe('replica-a');
  await expect.poll(() => b.isLeader()).toBe(true);
  const from = performance.now();
  await fork('cart-bob', 'bob');
  await expect.poll(() => k.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  expect(writers((r) => r.at >= from)).toEqual(['replica-b']);
  expect((await lease())?.holderIdentity).toBe('replica-b');
});

it('steps down when it cannot renew, before the standby may take over', async () => {
  const a = await startReplica('replica-a');
  await expect.poll(() => a.isLeader()).toBe(true);
  const b = await startReplica('replica-b');
  await fork('cart-alice', 'alice');
  await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
  k.proxy.inject({
    match: (r) => r.user === 'replica-a' && r.plural === 'leases' && r.verb === 'update',
    status: 500,
  });
  await expect.poll(() => a.isLeader(), { timeout: 5000 }).toBe(false);
  const steppedDown = performance.now();
  await expect.poll(() => b.isLeader(), { timeout: 10_000 }).toBe(true);
  expect(performance.now()).toBeGreaterThan(steppedDown);
  await fork('cart-bob', 'bob');
  await expect.poll(() => k.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  const lastWriteOfA = Math.max(...routingWrites((r) => r.user === 'replica-a').map((r) => r.at));
  const firstWriteOfB = Math.min(...routingWrites((r) => r.user === 'replica-b').map((r) => r.at));
  expect(lastWriteOfA).toBeLessThan(firstWriteOfB);
  expect((await lease())?.leaseTransitions).toBe(1);
});

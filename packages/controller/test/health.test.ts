import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeCluster, metric, scrape } from './support/cluster.js';

let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start();
});

afterEach(async () => {
  await cluster.close();
});

it('exports the reconcile, queue and drift metrics on /metrics', async () => {
  const controller = await cluster.startController();
  cluster.createServices('shop', 'cart', 'cart-alice');
  cluster.applyVSConfig('shop', 'cart-alice', {
    headerValue: 'alice',
    host: 'cart',
    service: 'cart-alice',
  });
  await expect
    .poll(() => metric(controller, 'kubefork_reconcile_total', { result: 'updated' }))
    .toBeGreaterThan(0);
  const text = await scrape(controller);
  for (const name of [
    'kubefork_reconcile_total',
    'kubefork_reconcile_duration_seconds_bucket',
    'kubefork_queue_depth',
    'kubefork_drift_corrections_total',
  ]) {
    expect(text).toContain(`\n${name}`);
  }
  expect(await metric(controller, 'kubefork_leader')).toBe(1);
});

it('answers /readyz 503 until the caches synced, /healthz 200 throughout', async () => {
  const release = cluster.server.inject({
    match: (r) => r.verb === 'list' && r.plural === 'vsconfigs',
    status: 503,
  });
  const controller = await cluster.startController();
  const get = (path: string) =>
    fetch(`http://127.0.0.1:${controller.metricsPort}${path}`).then((r) => r.status);
  expect(await get('/readyz')).toBe(503);
  expect(await get('/healthz')).toBe(200);
  release();
  await expect.poll(() => get('/readyz'), { timeout: 10_000 }).toBe(200);
  expect(await get('/nope')).toBe(404);
});

it('refuses bad options with a TypeError naming the option', async () => {
  await expect(cluster.startController({ resyncSeconds: 0 })).rejects.toThrow(/resyncSeconds/);
  await expect(cluster.startController({ namespace: 'Not_A_Namespace' })).rejects.toThrow(
    /namespace/,
  );
  await expect(cluster.startController({ headerAllowList: ['bad header'] })).rejects.toThrow(
    TypeError,
  );
  await expect(cluster.startController({ workers: 0 })).rejects.toThrow(/workers/);
  await expect(cluster.startController({ resync: 10 } as never)).rejects.toThrow(
    'kubefork: option "resync" must be one of: kubeConfig,',
  );
});

it.each([
  [
    { leaseDuration: 15 },
    /option "leaderElection\.leaseDuration" must be one of: leaseName,.* received 15/,
  ],
  [{ leaseName: 'Kubefork_Lease' }, /option "leaderElection\.leaseName" must be a Lease name/],
  [{ identity: '' }, /option "leaderElection\.identity" must be a non-empty string; received ""/],
  [
    { leaseDurationSeconds: 1.5 },
    /option "leaderElection\.leaseDurationSeconds" must be .* received 1\.5/,
  ],
  // A renew deadline at or past the lease duration lets a standby take over while the leader
  // still believes it leads: two leaders.
  [
    { leaseDurationSeconds: 10, renewDeadlineMs: 10_000 },
    /option "leaderElection\.renewDeadlineMs" must be .*below the lease duration \(10000\); received 10000/,
  ],
  [
    { renewDeadlineMs: 1000, retryPeriodMs: 900 },
    /option "leaderElection\.retryPeriodMs" must be .*\(833\); received 900/,
  ],
])('refuses leader election options %j with a TypeError naming them', async (election, message) => {
  const started = cluster.startController({ leaderElection: election as never });
  await expect(started).rejects.toThrow(TypeError);
  await expect(started).rejects.toThrow(message);
});

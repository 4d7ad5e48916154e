// The controller against an API server that misbehaves: 500s, 410 Gone, dropped and failing
// watches, slow responses. Each fault is injected into the fake server; the client is the real one.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCluster, metric, settled } from './support/cluster.js';
import type { RequestInfo, RequestRecord } from './support/fake-api/server.js';

const NS = 'shop';
let cluster: FakeCluster;

async function startCluster(options: Parameters<typeof FakeCluster.start>[0] = {}) {
  cluster = await FakeCluster.start(options);
  cluster.createServices(NS, 'cart', 'cart-alice', 'pay', 'pay-alice', 'ship', 'ship-alice');
  return cluster;
}

afterEach(async () => {
  await cluster.close();
});

function fork(host: string, value = 'alice') {
  cluster.applyVSConfig(NS, `${host}-${value}`, {
    headerValue: value,
    host,
    service: `${host}-${value}`,
  });
}

const since = (from: number, match: (r: RequestRecord) => boolean) =>
  cluster.server.requests.slice(from).filter(match);

describe('API errors', () => {
  it('backs off exponentially per host through a burst of 500s, then converges', async () => {
    await startCluster();
    const applies = (r: RequestInfo) => r.plural === 'virtualservices' && r.verb === 'patch';
    cluster.server.inject({ match: applies, status: 500, times: 6 });
    const controller = await cluster.startController({
      retry: { baseDelayMs: 20, maxDelayMs: 10_000 },
    });
    fork('cart');
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'), { timeout: 10_000 })
      .toBe('True/Accepted');
    const attempts = since(0, applies).map((r) => r.at);
    expect(attempts).toHaveLength(7);
    // Each retry waits at least 20 ms × 2^n (timers never fire early; a 2 ms margin for rounding).
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    const floors = gaps.map((_, i) => 20 * 2 ** i - 2);
    expect(gaps.map((gap, i) => gap >= floors[i]!)).toEqual(gaps.map(() => true));
    expect(await metric(controller, 'kubefork_reconcile_total', { result: 'error' })).toBe(6);
  });

  it('converges every host after a burst of 500s on all writes', async () => {
    await startCluster();
    cluster.server.inject({ match: (r) => r.verb === 'patch', status: 500, times: 30 });
    await cluster.startController();
    for (const host of ['cart', 'pay', 'ship']) fork(host);
    for (const host of ['cart', 'pay', 'ship']) {
      await expect
        .poll(() => cluster.readiness(NS, `${host}-alice`), { timeout: 15_000 })
        .toBe('True/Accepted');
    }
    expect(cluster.writes((r) => r.faulted)).toHaveLength(30);
  });

  it('retries a write that outlives the request timeout', async () => {
    await startCluster();
    const applies = (r: RequestInfo) => r.plural === 'virtualservices' && r.verb === 'patch';
    cluster.server.inject({ match: applies, delayMs: 2000, times: 1 });
    const controller = await cluster.startController({ requestTimeoutMs: 300 });
    fork('cart');
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'), { timeout: 10_000 })
      .toBe('True/Accepted');
    expect(
      await metric(controller, 'kubefork_reconcile_total', { result: 'error' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('syncs once lists stop failing at start', async () => {
    await startCluster();
    cluster.server.inject({
      match: (r) => r.verb === 'list' && r.plural === 'vsconfigs',
      status: 500,
      times: 3,
    });
    fork('cart');
    const controller = await cluster.startController();
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'), { timeout: 10_000 })
      .toBe('True/Accepted');
    expect(
      await metric(controller, 'kubefork_informer_failures_total', { informer: 'vsconfigs' }),
    ).toBe(3);
  });
});

describe('watches', () => {
  it('relists once after a 410 and writes nothing when nothing changed', async () => {
    // No bookmarks: the informers' resourceVersion stays behind the compaction.
    await startCluster({ bookmarkIntervalMs: 0 });
    const controller = await cluster.startController();
    for (const host of ['cart', 'pay', 'ship']) fork(host);
    await expect.poll(() => cluster.readiness(NS, 'ship-alice')).toBe('True/Accepted');
    await settled(controller);
    expect(cluster.server.openWatches()).toHaveLength(3);

    const from = cluster.server.requests.length;
    cluster.writeUnwatched(); // the resourceVersion moves past every informer's …
    cluster.server.store.compact(); // … and the history they would resume from is gone
    cluster.server.closeWatches();
    await expect.poll(() => since(from, (r) => r.verb === 'list').length).toBe(3);
    await expect.poll(() => cluster.server.openWatches().length).toBe(3);
    await settled(controller);
    const lists = since(from, (r) => r.verb === 'list').map((r) => r.plural);
    expect(lists.sort()).toEqual(['services', 'virtualservices', 'vsconfigs']);
    expect(since(from, (r) => r.verb !== 'list' && r.verb !== 'watch')).toEqual([]);

    fork('cart', 'bob');
    cluster.createService(NS, 'cart-bob');
    await expect.poll(() => cluster.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  });

  it('backs off instead of spinning while every watch answers 410', async () => {
    await startCluster({ goneAs: 'status' });
    const controller = await cluster.startController();
    fork('cart');
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);

    const from = cluster.server.requests.length;
    const heal = cluster.server.inject({ match: (r) => r.verb === 'watch', status: 410 });
    cluster.server.closeWatches();
    // The measurement window: client-node alone relists and rewatches in a tight loop here.
    await sleep(1000);
    const lists = since(from, (r) => r.verb === 'list' && r.plural === 'vsconfigs').length;
    expect(lists).toBeGreaterThanOrEqual(2);
    expect(lists).toBeLessThanOrEqual(12);
    heal();
    fork('pay');
    await expect
      .poll(() => cluster.readiness(NS, 'pay-alice'), { timeout: 10_000 })
      .toBe('True/Accepted');
    expect(await metric(controller, 'kubefork_informer_failures_total')).toBeGreaterThan(0);
  });

  it('restarts a watch that failed with a 500 (client-node gives up on it)', async () => {
    await startCluster();
    await cluster.startController();
    fork('cart');
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    const vsconfigWatch = (r: { verb: string; plural: string }) =>
      r.verb === 'watch' && r.plural === 'vsconfigs';
    cluster.server.inject({ match: vsconfigWatch, status: 500, times: 3 });
    cluster.server.closeWatches({ match: vsconfigWatch });
    fork('pay');
    await expect
      .poll(() => cluster.readiness(NS, 'pay-alice'), { timeout: 10_000 })
      .toBe('True/Accepted');
  });

  it('reconnects after the server drops its watch connections', async () => {
    await startCluster();
    await cluster.startController();
    fork('cart');
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    expect(cluster.server.closeWatches({ abrupt: true })).toBe(3);
    fork('pay');
    await expect
      .poll(() => cluster.readiness(NS, 'pay-alice'), { timeout: 10_000 })
      .toBe('True/Accepted');
    await expect.poll(() => cluster.server.openWatches().length).toBe(3);
  });

  it('sees changes made while its watches were being re-established', async () => {
    await startCluster();
    const controller = await cluster.startController();
    fork('cart');
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    cluster.server.inject({ match: (r) => r.verb === 'watch', delayMs: 300, times: 3 });
    cluster.server.closeWatches();
    cluster.deleteVSConfig(NS, 'cart-alice');
    await expect
      .poll(() => cluster.virtualService(NS, 'cart'), { timeout: 10_000 })
      .toBeUndefined();
  });
});

describe('stop', () => {
  it('leaves no watch open when stopped while its watches are still connecting', async () => {
    await startCluster();
    // Watches connect slowly: stop() comes while client-node still awaits their response headers.
    cluster.server.inject({ match: (r) => r.verb === 'watch', delayMs: 300 });
    const controller = await cluster.startController();
    await expect.poll(() => since(0, (r) => r.verb === 'watch').length).toBe(3);
    await cluster.stopController(controller);
    await expect.poll(() => cluster.server.openWatches().length, { timeout: 5000 }).toBe(0);
    await sleep(400); // longer than the injected delay: nothing reconnects after stop
    expect(cluster.server.openWatches()).toEqual([]);
    expect(since(0, (r) => r.verb === 'watch')).toHaveLength(3);
  });
});

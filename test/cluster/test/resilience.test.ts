// The controller against a real API server that misbehaves: bursts of 500s, 410 on watches,
// dropped and failing watches, slow responses (through the fault-injecting proxy), and the API
// server itself killed and restarted while the controller runs.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProxiedRequest } from '../src/index.js';
import { ControllerCluster, metric, settled } from './support/controller-cluster.js';

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
  await k.createServices(NS, 'cart', 'cart-alice', 'pay', 'pay-alice', 'ship', 'ship-alice');
});

afterEach(async () => {
  await k.stopControllers();
});

const start = (options: Parameters<ControllerCluster['startController']>[0] = {}) =>
  k.startController({ namespace: NS, ...options });

const fork = (host: string, value = 'alice') =>
  k.applyVSConfig(NS, `${host}-${value}`, {
    headerValue: value,
    host,
    service: `${host}-${value}`,
  });

const fromController = (match: (r: ProxiedRequest) => boolean) => (r: ProxiedRequest) =>
  r.user === 'controller' && match(r);

const since = (from: number, match: (r: ProxiedRequest) => boolean) =>
  k.proxy.requests.slice(from).filter(fromController(match));

describe('API errors', () => {
  it('backs off exponentially per host through a burst of 500s, then converges', async () => {
    const from = k.proxy.requests.length;
    const applies = (r: ProxiedRequest) => r.plural === 'virtualservices' && r.verb === 'patch';
    k.proxy.inject({ match: fromController(applies), status: 500, times: 6 });
    const controller = await start({ retry: { baseDelayMs: 20, maxDelayMs: 10_000 } });
    await fork('cart');
    await expect
      .poll(() => k.readiness(NS, 'cart-alice'), { timeout: 15_000 })
      .toBe('True/Accepted');
    const attempts = since(from, applies).map((r) => r.at);
    expect(attempts).toHaveLength(7);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]!);
    const floors = gaps.map((_, i) => 20 * 2 ** i - 2);
    expect(gaps.map((gap, i) => gap >= floors[i]!)).toEqual(gaps.map(() => true));
    expect(await metric(controller, 'kubefork_reconcile_total', { result: 'error' })).toBe(6);
  });

  it('converges every host after a burst of 500s on all writes', async () => {
    const from = k.proxy.requests.length;
    k.proxy.inject({ match: fromController((r) => r.verb === 'patch'), status: 500, times: 30 });
    await start();
    for (const host of ['cart', 'pay', 'ship']) await fork(host);
    for (const host of ['cart', 'pay', 'ship']) {
      await expect
        .poll(() => k.readiness(NS, `${host}-alice`), { timeout: 20_000 })
        .toBe('True/Accepted');
    }
    expect(since(from, (r) => r.verb === 'patch' && r.status === 500)).toHaveLength(30);
  });

  it('retries a write that outlives the request timeout', async () => {
    const applies = (r: ProxiedRequest) => r.plural === 'virtualservices' && r.verb === 'patch';
    k.proxy.inject({ match: fromController(applies), delayMs: 2000, times: 1 });
    const controller = await start({ requestTimeoutMs: 300 });
    await fork('cart');
    await expect
      .poll(() => k.readiness(NS, 'cart-alice'), { timeout: 15_000 })
      .toBe('True/Accepted');
    expect(
      await metric(controller, 'kubefork_reconcile_total', { result: 'error' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('syncs once lists stop failing at start', async () => {
    k.proxy.inject({
      match: fromController((r) => r.verb === 'list' && r.plural === 'vsconfigs'),
      status: 500,
      times: 3,
    });
    await fork('cart');
    const controller = await start();
    await expect
      .poll(() => k.readiness(NS, 'cart-alice'), { timeout: 15_000 })
      .toBe('True/Accepted');
    expect(
      await metric(controller, 'kubefork_informer_failures_total', { informer: 'vsconfigs' }),
    ).toBe(3);
  });
});

describe('watches', () => {
  it('relists after its watches expire (410) and writes nothing when nothing changed', async () => {
    const controller = await start();
    for (const host of ['cart', 'pay', 'ship']) await fork(host);
    await expect.poll(() => k.readiness(NS, 'ship-alice')).toBe('True/Accepted');
    await settled(controller);
    const from = k.proxy.requests.length;
    k.proxy.inject({ match: fromController((r) => r.verb === 'watch'), expire: true, times: 3 });
    k.proxy.dropWatches();
    await expect.poll(() => since(from, (r) => r.verb === 'list').length).toBeGreaterThanOrEqual(3);
    await settled(controller);
    const lists = [...new Set(since(from, (r) => r.verb === 'list').map((r) => r.plural))];
    expect(lists.sort()).toEqual(['services', 'virtualservices', 'vsconfigs']);
    expect(since(from, (r) => r.verb !== 'list' && r.verb !== 'watch')).toEqual([]);
    await fork('cart', 'bob');
    await k.createServices(NS, 'cart-bob');
    await expect.poll(() => k.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  });

  it('backs off instead of spinning while every watch answers 410', async () => {
    const controller = await start();
    await fork('cart');
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    const from = k.proxy.requests.length;
    const heal = k.proxy.inject({ match: fromController((r) => r.verb === 'watch'), status: 410 });
    k.proxy.dropWatches();
    await sleep(1000);
    const lists = since(from, (r) => r.verb === 'list' && r.plural === 'vsconfigs').length;
    expect(lists).toBeGreaterThanOrEqual(2);
    expect(lists).toBeLessThanOrEqual(12);
    heal();
    await fork('pay');
    await expect
      .poll(() => k.readiness(NS, 'pay-alice'), { timeout: 15_000 })
      .toBe('True/Accepted');
    expect(await metric(controller, 'kubefork_informer_failures_total')).toBeGreaterThan(0);
  });

  it('restarts a watch that failed with a 500', async () => {
    await start();
    await fork('cart');
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    const vsconfigWatch = (r: ProxiedRequest) => r.verb === 'watch' && r.plural === 'vsconfigs';
    k.proxy.inject({ match: fromController(vsconfigWatch), status: 500, times: 3 });
    k.proxy.dropWatches();
    await fork('pay');
    await expect
      .poll(() => k.readiness(NS, 'pay-alice'), { timeout: 15_000 })
      .toBe('True/Accepted');
  });

  it('sees changes made while its watches were being re-established', async () => {
    const controller = await start();
    await fork('cart');
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    k.proxy.inject({ match: fromController((r) => r.verb === 'watch'), delayMs: 300, times: 3 });
    k.proxy.dropWatches();
    await k.deleteVSConfig(NS, 'cart-alice');
    await expect.poll(() => k.virtualService(NS, 'cart'), { timeout: 15_000 }).toBeUndefined();
  });

  it('leaves no watch open when stopped while its watches are still connecting', async () => {
    const from = k.proxy.requests.length;
    k.proxy.inject({ match: fromController((r) => r.verb === 'watch'), delayMs: 300 });
    const controller = await start();
    await expect.poll(() => since(from, (r) => r.verb === 'watch').length).toBe(3);
    const ours = fromController((r) => r.namespace === NS);
    await k.stopController(controller);
    await expect.poll(() => k.proxy.openWatches(ours), { timeout: 5000 }).toBe(0);
    await sleep(400);
    expect(k.proxy.openWatches(ours)).toBe(0);
    expect(since(from, (r) => r.verb === 'watch')).toHaveLength(3);
  });
});

describe('the API server restarts', () => {
  it('keeps reconciling after the API server is killed and comes back', async () => {
    const controller = await start();
    await fork('cart');
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    await k.cluster.restartApiServer({ crash: true, downMs: 500 });
    await fork('pay');
    await expect
      .poll(() => k.readiness(NS, 'pay-alice'), { timeout: 30_000 })
      .toBe('True/Accepted');
    await k.deleteVSConfig(NS, 'cart-alice');
    await expect.poll(() => k.virtualService(NS, 'cart'), { timeout: 30_000 }).toBeUndefined();
  });
});

import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeCluster } from './support/cluster.js';

let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start();
});

afterEach(async () => {
  await cluster.close();
});

it('sends its API calls over a few kept-alive connections, not one connection per call', async () => {
  await cluster.startController();
  for (const host of ['cart', 'pay', 'ship', 'mail', 'auth']) {
    cluster.createServices('shop', host, `${host}-alice`, `${host}-bob`);
    for (const dev of ['alice', 'bob']) {
      cluster.applyVSConfig('shop', `${host}-${dev}`, {
        headerValue: dev,
        host,
        service: `${host}-${dev}`,
      });
    }
  }
  await expect.poll(() => cluster.readiness('shop', 'auth-bob')).toBe('True/Accepted');
  await expect.poll(() => cluster.readiness('shop', 'auth-alice')).toBe('True/Accepted');
  const calls = cluster.server.requests.filter((r) => r.verb !== 'watch');
  const connections = new Set(calls.map((r) => r.remotePort));
  expect(calls.length).toBeGreaterThanOrEqual(18); // 3 lists, 5 applies, 10 status patches
  expect(connections.size).toBeLessThan(calls.length / 2);
});

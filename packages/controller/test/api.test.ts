import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeCluster } from './support/cluster.js';

let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start();
});

afterEach(async () => {
  await cluster.close();
});

it('sends its API calls over kept-alive connections, not one connection per call', async () => {
  // One worker and one host at a time: every call could reuse the previous call's connection.
  await cluster.startController({ workers: 1 });
  for (const host of ['cart', 'pay', 'ship', 'mail', 'auth', 'user', 'cash', 'feed']) {
    cluster.createServices('shop', host, `${host}-alice`);
    cluster.applyVSConfig('shop', `${host}-alice`, {
      headerValue: 'alice',
      host,
      service: `${host}-alice`,
    });
    await expect.poll(() => cluster.readiness('shop', `${host}-alice`)).toBe('True/Accepted');
  }
  const calls = cluster.server.requests.filter((r) => r.verb !== 'watch');
  const connections = new Set(calls.map((r) => r.remotePort));
  expect(calls.length).toBeGreaterThanOrEqual(19); // 3 lists, 8 applies, 8 status patches
  // The three lists at start run side by side; everything after can share their connections.
  expect(connections.size).toBeLessThanOrEqual(4);
});

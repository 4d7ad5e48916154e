// Scenarios of the running controller, each against a fresh fake API server driven by the real
// @kubernetes/client-node. Developers and operators act on the server's store directly (as kubectl
// would through the API); every request the server sees comes from a controller.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCluster, metric, settled } from './support/cluster.js';

const NS = 'shop';
let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start();
  cluster.createServices(NS, 'cart', 'cart-alice', 'cart-bob', 'cart-carol');
});

afterEach(async () => {
  await cluster.close();
});

describe('VSConfig lifecycle', () => {
  it('creates the host VirtualService with the fork routes first when a VSConfig appears', async () => {
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect
      .poll(() => cluster.routes(NS, 'cart'))
      .toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'default']);
    const vs = cluster.virtualService(NS, 'cart')!;
    expect(vs.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'kubefork',
      'kubefork.dev/host': 'cart',
    });
    expect(vs.spec.http?.[0]?.route?.[0]?.destination.host).toBe(
      'cart-alice.shop.svc.cluster.local',
    );
  });

  it('marks the VSConfig Ready with its observedGeneration', async () => {
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    const status = cluster.vsconfig(NS, 'cart-alice')!.status!;
    expect(status.observedGeneration).toBe(1);
    expect(status.virtualService).toBe('cart');
  });

  it('updates the VirtualService and observedGeneration when a VSConfig changes', async () => {
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    cluster.applyVSConfig(NS, 'cart-alice', { headerValue: 'alice2' });
    await expect
      .poll(() => cluster.routes(NS, 'cart'))
      .toEqual(['kubefork-alice2', 'kubefork-alice2-baggage', 'default']);
    await expect.poll(() => cluster.vsconfig(NS, 'cart-alice')?.status?.observedGeneration).toBe(2);
  });

  it('deletes the VirtualService when the last VSConfig of the host is deleted', async () => {
    const controller = await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeDefined();
    cluster.deleteVSConfig(NS, 'cart-alice');
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeUndefined();
    await settled(controller);
  });

  it('moves the route when a VSConfig changes host', async () => {
    cluster.createServices(NS, 'pay', 'pay-alice');
    await cluster.startController();
    cluster.applyVSConfig(NS, 'alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeDefined();
    cluster.applyVSConfig(NS, 'alice', { host: 'pay', service: 'pay-alice' });
    await expect
      .poll(() => cluster.routes(NS, 'pay'))
      .toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'default']);
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeUndefined();
  });
});

describe('several forks of one host', () => {
  it('routes two developers forking the same host through one VirtualService', async () => {
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-bob', {
      headerValue: 'bob',
      host: 'cart',
      service: 'cart-bob',
    });
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect
      .poll(() => cluster.routes(NS, 'cart'))
      .toEqual([
        'kubefork-alice',
        'kubefork-bob',
        'kubefork-alice-baggage',
        'kubefork-bob-baggage',
        'default',
      ]);
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await expect.poll(() => cluster.readiness(NS, 'cart-bob')).toBe('True/Accepted');
    expect(cluster.virtualServices(NS)).toHaveLength(1);
  });

  it('routes a duplicate header value to the older VSConfig and rejects the newer with an event', async () => {
    cluster.server.store.clock = () => new Date('2024-01-01T00:00:00Z');
    cluster.applyVSConfig(NS, 'zz-first', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    cluster.server.store.clock = () => new Date('2024-01-02T00:00:00Z');
    cluster.applyVSConfig(NS, 'aa-second', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-bob',
    });
    await cluster.startController();
    await expect.poll(() => cluster.readiness(NS, 'aa-second')).toBe('False/DuplicateHeaderValue');
    expect(cluster.readiness(NS, 'zz-first')).toBe('True/Accepted');
    const vs = cluster.virtualService(NS, 'cart')!;
    expect(vs.spec.http?.[0]?.route?.[0]?.destination.host).toBe(
      'cart-alice.shop.svc.cluster.local',
    );
    await expect
      .poll(() => cluster.events(NS).map((e) => `${e.type} ${e.reason} ${e.involvedObject.name}`))
      .toContain('Warning DuplicateHeaderValue aa-second');
  });
});

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
    await expect.poll(() => cluster.readiness(NS, 'zz-first')).toBe('True/Accepted');
    const vs = cluster.virtualService(NS, 'cart')!;
    expect(vs.spec.http?.[0]?.route?.[0]?.destination.host).toBe(
      'cart-alice.shop.svc.cluster.local',
    );
    await expect
      .poll(() => cluster.events(NS).map((e) => `${e.type} ${e.reason} ${e.involvedObject.name}`))
      .toContain('Warning DuplicateHeaderValue aa-second');
  });
});

describe('VirtualServices kubefork does not manage', () => {
  const foreign = (annotations?: Record<string, string>) => ({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'cart-routes', namespace: NS, ...(annotations ? { annotations } : {}) },
    spec: {
      hosts: ['cart'],
      http: [{ name: 'canary', route: [{ destination: { host: 'cart' } }] }],
    },
  });

  it('reports a foreign VirtualService for the host and creates no second one', async () => {
    cluster.createVirtualService(foreign());
    const controller = await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'))
      .toBe('False/HostClaimedByForeignVirtualService');
    await settled(controller);
    expect(cluster.virtualServices(NS).map((vs) => vs.metadata.name)).toEqual(['cart-routes']);
    expect(cluster.routes(NS, 'cart-routes')).toEqual(['canary']);
    expect(cluster.events(NS).map((e) => e.reason)).toContain('HostClaimedByForeignVirtualService');
  });

  it('puts fork routes before the routes of a foreign VirtualService once it is annotated for adoption', async () => {
    cluster.createVirtualService(foreign());
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'))
      .toBe('False/HostClaimedByForeignVirtualService');
    cluster.patchVirtualService(NS, 'cart-routes', {
      metadata: { annotations: { 'kubefork.dev/adopt': 'true' } },
    });
    await expect
      .poll(() => cluster.routes(NS, 'cart-routes'))
      .toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'canary']);
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    expect(cluster.virtualServices(NS)).toHaveLength(1);
    expect(cluster.virtualService(NS, 'cart-routes')?.metadata.labels).toBeUndefined();
  });

  it('gives an adopted VirtualService its own routes back when the last fork goes', async () => {
    cluster.createVirtualService(foreign({ 'kubefork.dev/adopt': 'true' }));
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.routes(NS, 'cart-routes')).toContain('kubefork-alice');
    cluster.deleteVSConfig(NS, 'cart-alice');
    await expect.poll(() => cluster.routes(NS, 'cart-routes')).toEqual(['canary']);
  });

  it('deletes its own VirtualService when a foreign one claims the host later', async () => {
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeDefined();
    cluster.createVirtualService(foreign());
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeUndefined();
    await expect
      .poll(() => cluster.readiness(NS, 'cart-alice'))
      .toBe('False/HostClaimedByForeignVirtualService');
  });
});

describe('drift', () => {
  async function converged() {
    const controller = await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    return { controller, spec: cluster.virtualService(NS, 'cart')!.spec };
  }

  it('restores a managed VirtualService whose routes were edited by hand', async () => {
    const { controller, spec } = await converged();
    cluster.patchVirtualService(NS, 'cart', {
      spec: { http: [{ name: 'hijack', route: [{ destination: { host: 'evil' } }] }] },
    });
    await expect.poll(() => cluster.virtualService(NS, 'cart')?.spec).toEqual(spec);
    expect(await metric(controller, 'kubefork_drift_corrections_total')).toBe(1);
  });

  it('removes a spec field added to a managed VirtualService by hand', async () => {
    const { spec } = await converged();
    cluster.patchVirtualService(NS, 'cart', { spec: { gateways: ['istio-system/public'] } });
    await expect.poll(() => cluster.virtualService(NS, 'cart')?.spec).toEqual(spec);
  });

  it('recreates a managed VirtualService that was deleted by hand', async () => {
    const { controller, spec } = await converged();
    const uid = cluster.virtualService(NS, 'cart')!.metadata.uid;
    cluster.deleteVirtualService(NS, 'cart');
    await expect.poll(() => cluster.virtualService(NS, 'cart')?.metadata.uid ?? uid).not.toBe(uid);
    expect(cluster.virtualService(NS, 'cart')?.spec).toEqual(spec);
    expect(await metric(controller, 'kubefork_drift_corrections_total')).toBe(1);
  });

  it('repairs drift at the next resync when the retry backoff of the host is long', async () => {
    const controller = await cluster.startController({
      resyncSeconds: 0.5,
      retry: { baseDelayMs: 120_000, maxDelayMs: 120_000 },
    });
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    const spec = cluster.virtualService(NS, 'cart')!.spec;
    // The repair triggered by the edit fails once; its retry would wait two minutes.
    cluster.server.inject({
      match: (r) => r.plural === 'virtualservices' && r.verb === 'patch',
      status: 500,
      times: 1,
    });
    cluster.patchVirtualService(NS, 'cart', { spec: { http: [] } });
    await expect
      .poll(() => metric(controller, 'kubefork_reconcile_total', { result: 'error' }))
      .toBe(1);
    await expect
      .poll(() => cluster.virtualService(NS, 'cart')?.spec, { timeout: 5000 })
      .toEqual(spec);
  });

  it('cleans up at start the VirtualServices of VSConfigs deleted while it was stopped', async () => {
    const { controller } = await converged();
    cluster.applyVSConfig(NS, 'pay-bob', {
      headerValue: 'bob',
      host: 'cart-bob',
      service: 'cart-carol',
    });
    await expect.poll(() => cluster.virtualService(NS, 'cart-bob')).toBeDefined();
    await cluster.stopController(controller);
    cluster.deleteVSConfig(NS, 'cart-alice');
    await cluster.startController();
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeUndefined();
    expect(cluster.virtualService(NS, 'cart-bob')).toBeDefined();
  });
});

describe('status', () => {
  it('reports ServiceNotFound until the fork Service exists', async () => {
    await cluster.startController();
    cluster.applyVSConfig(NS, 'cart-dave', {
      headerValue: 'dave',
      host: 'cart',
      service: 'cart-dave',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-dave')).toBe('False/ServiceNotFound');
    expect(cluster.routes(NS, 'cart')).toContain('kubefork-dave');
    cluster.createService(NS, 'cart-dave');
    await expect.poll(() => cluster.readiness(NS, 'cart-dave')).toBe('True/Accepted');
  });

  it('rejects a header name that is not on the allow-list', async () => {
    await cluster.startController({ headerAllowList: ['x-fork-identifier', 'x-tenant'] });
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerName: 'x-user',
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    cluster.applyVSConfig(NS, 'cart-bob', {
      headerName: 'x-tenant',
      headerValue: 'bob',
      host: 'cart',
      service: 'cart-bob',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-alice')).toBe('False/HeaderNotAllowed');
    await expect.poll(() => cluster.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  });

  it('writes nothing when a resync finds every host as planned', async () => {
    const controller = await cluster.startController({ resyncSeconds: 0.2 });
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    cluster.applyVSConfig(NS, 'cart-bob', {
      headerValue: 'bob',
      host: 'cart',
      service: 'cart-bob',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-bob')).toBe('True/Accepted');
    await settled(controller);
    const writes = cluster.writes().length;
    const reconciles = await metric(controller, 'kubefork_reconcile_total');
    await expect
      .poll(() => metric(controller, 'kubefork_reconcile_total'))
      .toBeGreaterThanOrEqual(reconciles + 3);
    expect(cluster.writes()).toHaveLength(writes);
  });
});

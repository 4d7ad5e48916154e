// The VSConfig controller on a real kube-apiserver with Istio's real CRDs, authenticated as the
// ServiceAccount that deploy/rbac.yaml binds. The same scenarios the fake API server once ran.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
  await k.createServices(NS, 'cart', 'cart-alice', 'cart-bob', 'cart-carol');
});

afterEach(async () => {
  await k.stopControllers();
});

const start = (options: Parameters<ControllerCluster['startController']>[0] = {}) =>
  k.startController({ namespace: NS, ...options });

const forkOf = (host: string, value: string, service = `${host}-${value}`) => ({
  headerValue: value,
  host,
  service,
});

describe('VSConfig lifecycle', () => {
  it('creates the host VirtualService with the fork routes first when a VSConfig appears', async () => {
    await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect
      .poll(() => k.routes(NS, 'cart'))
      .toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'default']);
    const vs = (await k.virtualService(NS, 'cart'))!;
    expect(vs.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'kubefork',
      'kubefork.dev/host': 'cart',
    });
    expect(vs.spec.http?.[0]?.route?.[0]?.destination.host).toBe(
      `cart-alice.${NS}.svc.cluster.local`,
    );
    // Server-side apply as field manager kubefork: the API server records it.
    const managers = (vs.metadata as { managedFields?: { manager: string; operation: string }[] })
      .managedFields;
    expect(managers?.map((m) => `${m.manager}/${m.operation}`)).toContain('kubefork/Apply');
  });

  it('reconciles every namespace when it is not limited to one (cluster-wide RBAC)', async () => {
    await k.startController();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    expect(k.proxy.requests.filter((r) => r.user === 'controller' && r.status === 403)).toEqual([]);
  });

  it('marks the VSConfig Ready through the status subresource, with its observedGeneration', async () => {
    await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    const vsconfig = (await k.vsconfig(NS, 'cart-alice'))!;
    expect(vsconfig.status!.observedGeneration).toBe(1);
    expect(vsconfig.status!.virtualService).toBe('cart');
    // Writing status did not bump the generation (the CRD's status subresource at work).
    expect(vsconfig.metadata.generation).toBe(1);
    const statusWrites = k.controllerWrites((r) => r.plural === 'vsconfigs');
    expect(statusWrites.length).toBeGreaterThan(0);
    expect(statusWrites.every((r) => r.subresource === 'status')).toBe(true);
  });

  it('updates the VirtualService and observedGeneration when a VSConfig changes', async () => {
    await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await k.applyVSConfig(NS, 'cart-alice', { headerValue: 'alice2' });
    await expect
      .poll(() => k.routes(NS, 'cart'))
      .toEqual(['kubefork-alice2', 'kubefork-alice2-baggage', 'default']);
    await expect
      .poll(async () => (await k.vsconfig(NS, 'cart-alice'))?.status?.observedGeneration)
      .toBe(2);
  });

  it('deletes the VirtualService when the last VSConfig of the host is deleted', async () => {
    const controller = await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeDefined();
    await k.deleteVSConfig(NS, 'cart-alice');
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeUndefined();
    await settled(controller);
  });

  it('moves the route when a VSConfig changes host', async () => {
    await k.createServices(NS, 'pay', 'pay-alice');
    await start();
    await k.applyVSConfig(NS, 'alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeDefined();
    await k.applyVSConfig(NS, 'alice', { host: 'pay', service: 'pay-alice' });
    await expect
      .poll(() => k.routes(NS, 'pay'))
      .toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'default']);
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeUndefined();
  });
});

describe('the API server validates what developers write', () => {
  it('rejects a VSConfig whose header value breaks the fork-id rule (CRD schema)', async () => {
    const { status, body } = await k.cluster.admin.request(
      'POST',
      `/apis/kubefork.dev/v1beta1/namespaces/${NS}/vsconfigs`,
      {
        body: {
          apiVersion: 'kubefork.dev/v1beta1',
          kind: 'VSConfig',
          metadata: { name: 'bad', namespace: NS },
          spec: { headerValue: 'al ice', host: 'cart', service: 'cart-alice' },
        },
        allowError: true,
      },
    );
    expect(status).toBe(422);
    expect(JSON.stringify(body)).toContain('headerValue');
  });
});

describe('several forks of one host', () => {
  it('routes two developers forking the same host through one VirtualService', async () => {
    await start();
    await k.applyVSConfig(NS, 'cart-bob', forkOf('cart', 'bob'));
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect
      .poll(() => k.routes(NS, 'cart'))
      .toEqual([
        'kubefork-alice',
        'kubefork-bob',
        'kubefork-alice-baggage',
        'kubefork-bob-baggage',
        'default',
      ]);
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await expect.poll(() => k.readiness(NS, 'cart-bob')).toBe('True/Accepted');
    expect(await k.virtualServices(NS)).toHaveLength(1);
  });

  it('routes a duplicate header value to the older VSConfig and rejects the newer with an event', async () => {
    await k.applyVSConfig(NS, 'zz-first', forkOf('cart', 'alice'));
    // creationTimestamp has one-second resolution: the second one must be visibly newer.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await k.applyVSConfig(NS, 'aa-second', forkOf('cart', 'alice', 'cart-bob'));
    await start();
    await expect.poll(() => k.readiness(NS, 'aa-second')).toBe('False/DuplicateHeaderValue');
    await expect.poll(() => k.readiness(NS, 'zz-first')).toBe('True/Accepted');
    const vs = (await k.virtualService(NS, 'cart'))!;
    expect(vs.spec.http?.[0]?.route?.[0]?.destination.host).toBe(
      `cart-alice.${NS}.svc.cluster.local`,
    );
    await expect
      .poll(async () =>
        (await k.events(NS)).map((e) => `${e.type} ${e.reason} ${e.involvedObject.name}`),
      )
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
    await k.createVirtualService(foreign());
    const controller = await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect
      .poll(() => k.readiness(NS, 'cart-alice'))
      .toBe('False/HostClaimedByForeignVirtualService');
    await settled(controller);
    expect((await k.virtualServices(NS)).map((vs) => vs.metadata.name)).toEqual(['cart-routes']);
    expect(await k.routes(NS, 'cart-routes')).toEqual(['canary']);
    await expect
      .poll(async () => (await k.events(NS)).map((e) => e.reason))
      .toContain('HostClaimedByForeignVirtualService');
  });

  it('puts fork routes before the routes of a foreign VirtualService once it is annotated for adoption', async () => {
    await k.createVirtualService(foreign());
    await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect
      .poll(() => k.readiness(NS, 'cart-alice'))
      .toBe('False/HostClaimedByForeignVirtualService');
    await k.patchVirtualService(NS, 'cart-routes', {
      metadata: { annotations: { 'kubefork.dev/adopt': 'true' } },
    });
    await expect
      .poll(() => k.routes(NS, 'cart-routes'))
      .toEqual(['kubefork-alice', 'kubefork-alice-baggage', 'canary']);
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    expect(await k.virtualServices(NS)).toHaveLength(1);
    expect((await k.virtualService(NS, 'cart-routes'))?.metadata.labels).toBeUndefined();
  });

  it('gives an adopted VirtualService its own routes back when the last fork goes', async () => {
    await k.createVirtualService(foreign({ 'kubefork.dev/adopt': 'true' }));
    await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.routes(NS, 'cart-routes')).toContain('kubefork-alice');
    await k.deleteVSConfig(NS, 'cart-alice');
    await expect.poll(() => k.routes(NS, 'cart-routes')).toEqual(['canary']);
  });

  it('deletes its own VirtualService when a foreign one claims the host later', async () => {
    await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeDefined();
    await k.createVirtualService(foreign());
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeUndefined();
    await expect
      .poll(() => k.readiness(NS, 'cart-alice'))
      .toBe('False/HostClaimedByForeignVirtualService');
  });
});

describe('drift', () => {
  async function converged() {
    const controller = await start();
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    return { controller, spec: (await k.virtualService(NS, 'cart'))!.spec };
  }

  it('restores a managed VirtualService whose routes were edited by another field manager', async () => {
    const { controller, spec } = await converged();
    await k.patchVirtualService(NS, 'cart', {
      spec: { http: [{ name: 'hijack', route: [{ destination: { host: 'evil' } }] }] },
    });
    await expect.poll(async () => (await k.virtualService(NS, 'cart'))?.spec).toEqual(spec);
    expect(await metric(controller, 'kubefork_drift_corrections_total')).toBe(1);
  });

  it('removes a spec field added to a managed VirtualService by hand', async () => {
    const { spec } = await converged();
    await k.patchVirtualService(NS, 'cart', { spec: { gateways: ['istio-system/public'] } });
    await expect.poll(async () => (await k.virtualService(NS, 'cart'))?.spec).toEqual(spec);
  });

  it('recreates a managed VirtualService that was deleted by hand', async () => {
    const { controller, spec } = await converged();
    const uid = (await k.virtualService(NS, 'cart'))!.metadata.uid;
    await k.deleteVirtualService(NS, 'cart');
    await expect
      .poll(async () => (await k.virtualService(NS, 'cart'))?.metadata.uid ?? uid)
      .not.toBe(uid);
    expect((await k.virtualService(NS, 'cart'))?.spec).toEqual(spec);
    expect(await metric(controller, 'kubefork_drift_corrections_total')).toBe(1);
  });

  it('repairs drift at the next resync when the retry backoff of the host is long', async () => {
    const controller = await start({
      resyncSeconds: 0.5,
      retry: { baseDelayMs: 120_000, maxDelayMs: 120_000 },
    });
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('True/Accepted');
    await settled(controller);
    const spec = (await k.virtualService(NS, 'cart'))!.spec;
    // The repair triggered by the edit fails once; its retry would wait two minutes.
    k.proxy.inject({
      match: (r) => r.user === 'controller' && r.plural === 'virtualservices' && r.verb === 'patch',
      status: 500,
      times: 1,
    });
    await k.patchVirtualService(NS, 'cart', { spec: { http: [] } });
    await expect
      .poll(() => metric(controller, 'kubefork_reconcile_total', { result: 'error' }))
      .toBe(1);
    await expect
      .poll(async () => (await k.virtualService(NS, 'cart'))?.spec, { timeout: 10_000 })
      .toEqual(spec);
  });

  it('cleans up at start the VirtualServices of VSConfigs deleted while it was stopped', async () => {
    const { controller } = await converged();
    await k.applyVSConfig(NS, 'pay-bob', forkOf('cart-bob', 'bob', 'cart-carol'));
    await expect.poll(() => k.virtualService(NS, 'cart-bob')).toBeDefined();
    await k.stopController(controller);
    await k.deleteVSConfig(NS, 'cart-alice');
    await start();
    await expect.poll(() => k.virtualService(NS, 'cart')).toBeUndefined();
    expect(await k.virtualService(NS, 'cart-bob')).toBeDefined();
  });
});

describe('status', () => {
  it('reports ServiceNotFound until the fork Service exists', async () => {
    await start();
    await k.applyVSConfig(NS, 'cart-dave', forkOf('cart', 'dave'));
    await expect.poll(() => k.readiness(NS, 'cart-dave')).toBe('False/ServiceNotFound');
    expect(await k.routes(NS, 'cart')).toContain('kubefork-dave');
    await k.createServices(NS, 'cart-dave');
    await expect.poll(() => k.readiness(NS, 'cart-dave')).toBe('True/Accepted');
  });

  it('rejects a header name that is not on the allow-list', async () => {
    await start({ headerAllowList: ['x-fork-identifier', 'x-tenant'] });
    await k.applyVSConfig(NS, 'cart-alice', { headerName: 'x-user', ...forkOf('cart', 'alice') });
    await k.applyVSConfig(NS, 'cart-bob', { headerName: 'x-tenant', ...forkOf('cart', 'bob') });
    await expect.poll(() => k.readiness(NS, 'cart-alice')).toBe('False/HeaderNotAllowed');
    await expect.poll(() => k.readiness(NS, 'cart-bob')).toBe('True/Accepted');
  });

  it('writes nothing when a resync finds every host as planned', async () => {
    const controller = await start({ resyncSeconds: 0.2 });
    await k.applyVSConfig(NS, 'cart-alice', forkOf('cart', 'alice'));
    await k.applyVSConfig(NS, 'cart-bob', forkOf('cart', 'bob'));
    await expect.poll(() => k.readiness(NS, 'cart-bob')).toBe('True/Accepted');
    await settled(controller);
    const writes = k.controllerWrites((r) => r.plural !== 'events').length;
    const reconciles = await metric(controller, 'kubefork_reconcile_total');
    await expect
      .poll(() => metric(controller, 'kubefork_reconcile_total'))
      .toBeGreaterThanOrEqual(reconciles + 3);
    expect(k.controllerWrites((r) => r.plural !== 'events')).toHaveLength(writes);
  });
});

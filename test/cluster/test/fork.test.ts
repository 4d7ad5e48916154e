// Forks on the real control plane: the controller runs as the ServiceAccount deploy/rbac.yaml
// binds (so every call it makes is proven allowed), the real deployment and replicaset
// controllers create the copies' pods (they never run: no kubelet), the real garbage collector
// deletes what a Fork made, the real admission chain runs deploy/fork-admission.yaml, and Istio's
// real CRD schema judges every VirtualService.
import type { Controller } from '@kubefork/controller';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startCluster, type TestCluster } from '../src/index.js';
import {
  Api,
  createWorkload,
  fork,
  installDeploy,
  metric,
  type Obj,
  selects,
  startForkController,
  until,
} from './support/forks.js';

let cluster: TestCluster;
let api: Api;
let controller: Controller;

const POLL = { timeout: 30_000, interval: 200 };
// The garbage collector discovers new resources (the Fork CRD, installed after
// kube-controller-manager started) every 30 s; until then it cannot tell that a Fork is gone.
const GC = { timeout: 75_000, interval: 500 };

beforeAll(async () => {
  cluster = await startCluster({ users: [{ name: 'dev-full' }, { name: 'dev-forks-only' }] });
  api = new Api(cluster.admin);
  await installDeploy(cluster);
  for (const ns of ['shop', 'web', 'ttl', 'quota', 'admission', 'images', 'release']) {
    await cluster.ensureNamespace(ns);
  }
  controller = await startForkController(cluster);
  await until('the controller to be ready', () => controller.isReady());
});

afterAll(async () => {
  await controller?.stop();
  await cluster?.stop();
});

type Container = { name: string; image: string; env?: { name: string; value?: string }[] };

function containers(deployment: Obj | undefined): Container[] {
  const template = deployment?.spec?.template as
    | { spec?: { containers?: Container[] } }
    | undefined;
  return template?.spec?.containers ?? [];
}

describe('a Fork of two services', () => {
  beforeAll(async () => {
    // cart's pods are selected by two baseline Services: `cart` (app) and `backend` (tier).
    await createWorkload(api, 'shop', 'cart', { app: 'cart', tier: 'backend', version: 'v3' });
    const backend = await api.create('services', 'shop', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: 'shop' },
      spec: { selector: { tier: 'backend' }, ports: [{ port: 80 }] },
    });
    expect(backend.status).toBe(201);
    await createWorkload(api, 'shop', 'pay', { app: 'pay' });
    const created = await api.create(
      'forks',
      'shop',
      fork('shop', 'alice', {
        services: [
          {
            name: 'cart',
            image: 'registry.example.com/cart:pr-123',
            env: [{ name: 'FEATURE_X', value: 'on' }],
          },
          { name: 'pay', replicas: 2 },
        ],
      }),
    );
    expect(created.status).toBe(201);
    await until(
      'alice Ready',
      async () => (await api.readiness('shop', 'alice')) === 'True/Forked',
    );
  });

  it('makes a copy, a Service and a VSConfig per service, all owned by the Fork', async () => {
    const owner = await api.get('forks', 'shop', 'alice');
    for (const name of ['cart-alice', 'pay-alice']) {
      for (const kind of ['deployments', 'services', 'vsconfigs'] as const) {
        const object = await api.get(kind, 'shop', name);
        expect(object, `${kind} ${name}`).toBeDefined();
        expect(object?.metadata.ownerReferences).toEqual([
          expect.objectContaining({
            kind: 'Fork',
            name: 'alice',
            uid: owner?.metadata.uid,
            controller: true,
          }),
        ]);
        expect(object?.metadata.labels).toMatchObject({ 'kubefork.dev/fork': 'alice' });
      }
    }
    const vsconfig = await api.get('vsconfigs', 'shop', 'cart-alice');
    expect(vsconfig?.spec).toMatchObject({
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    const copy = await api.get('services', 'shop', 'pay-alice');
    expect(copy?.spec).toMatchObject({
      type: 'ClusterIP',
      selector: { 'kubefork.dev/fork': 'alice', 'kubefork.dev/service': 'pay' },
      ports: [expect.objectContaining({ name: 'http', port: 80, targetPort: 'http' })],
    });
    expect((await api.get('deployments', 'shop', 'pay-alice'))?.spec?.replicas).toBe(2);
    expect((await api.get('deployments', 'shop', 'cart-alice'))?.spec?.replicas).toBe(1);
  });

  it('writes the status: fork id, services, expiry and preview URL', async () => {
    const status = (await api.get('forks', 'shop', 'alice'))?.status as Record<string, unknown>;
    expect(status).toMatchObject({
      forkId: 'alice',
      previewURL: 'https://alice.preview.example.com/',
      services: [
        {
          name: 'cart',
          deployment: 'cart-alice',
          service: 'cart-alice',
          vsConfig: 'cart-alice',
          readyReplicas: 0,
        },
        {
          name: 'pay',
          deployment: 'pay-alice',
          service: 'pay-alice',
          vsConfig: 'pay-alice',
          readyReplicas: 0,
        },
      ],
    });
    const fork = await api.get('forks', 'shop', 'alice');
    expect(status.observedGeneration).toBe(fork?.metadata.generation);
    const expires = Date.parse(String(status.expiresAt));
    const created = Date.parse(String(fork?.metadata.creationTimestamp));
    expect(expires - created).toBe(8 * 3_600_000);
  });

  it('routes the fork id to the copies through the VirtualService of each host', async () => {
    for (const host of ['cart', 'pay']) {
      const routes = async () => {
        const vs = await api.get('virtualservices', 'shop', host);
        const http = (vs?.spec?.http ?? []) as {
          name: string;
          route: { destination: { host: string } }[];
        }[];
        return http.map((r) => `${r.name}→${r.route[0]?.destination.host}`);
      };
      await expect
        .poll(routes, POLL)
        .toEqual([
          `kubefork-alice→${host}-alice.shop.svc.cluster.local`,
          `kubefork-alice-baggage→${host}-alice.shop.svc.cluster.local`,
          `default→${host}.shop.svc.cluster.local`,
        ]);
    }
  });

  it('keeps every fork pod the real controllers create out of every baseline Service', async () => {
    // 1 cart pod + 2 pay pods, created by the deployment and replicaset controllers.
    const forkPods = () => api.list('pods', 'shop', 'kubefork.dev/fork=alice');
    await expect.poll(async () => (await forkPods()).length, POLL).toBe(3);
    const pods = await api.list('pods', 'shop');
    const services = await api.list('services', 'shop');
    const baseline = services.filter((s) => !s.metadata.labels?.['kubefork.dev/fork']);
    expect(baseline.map((s) => s.metadata.name).sort()).toEqual(['backend', 'cart', 'pay']);
    const forkPodLabels = (await forkPods()).map((p) => p.metadata.labels);
    for (const service of baseline) {
      const selector = service.spec?.selector as Record<string, string>;
      for (const labels of forkPodLabels) {
        expect(
          selects(selector, labels),
          `${service.metadata.name} selects ${JSON.stringify(labels)}`,
        ).toBe(false);
      }
    }
    // The check can fail: the baseline pods are selected by their Services, the fork pods by theirs.
    const baselinePods = pods.filter((p) => !p.metadata.labels?.['kubefork.dev/fork']);
    expect(baselinePods.length).toBe(4);
    expect(baselinePods.filter((p) => selects({ tier: 'backend' }, p.metadata.labels)).length).toBe(
      2,
    );
    const copy = services.find((s) => s.metadata.name === 'cart-alice');
    const selected = forkPodLabels.filter((l) =>
      selects(copy?.spec?.selector as Record<string, string>, l),
    );
    expect(selected).toHaveLength(1);
  });

  it('applies the overrides: image, env, and KUBEFORK_FORK_ID in every container', async () => {
    const [app] = containers(await api.get('deployments', 'shop', 'cart-alice'));
    expect(app?.image).toBe('registry.example.com/cart:pr-123');
    expect(app?.env).toEqual([
      { name: 'MODE', value: 'prod' },
      { name: 'FEATURE_X', value: 'on' },
      { name: 'KUBEFORK_FORK_ID', value: 'alice' },
    ]);
    const [pod] = await api.list(
      'pods',
      'shop',
      'kubefork.dev/fork=alice,kubefork.dev/service=cart',
    );
    const podContainers = (pod?.spec?.containers ?? []) as Container[];
    expect(podContainers[0]?.image).toBe('registry.example.com/cart:pr-123');
  });

  it('restores a copy edited by hand and recreates a Service deleted by hand', async () => {
    await api.mergePatch('deployments', 'shop', 'pay-alice', {
      spec: {
        template: {
          spec: { containers: [{ name: 'app', image: 'registry.example.com/pay:hacked' }] },
        },
      },
    });
    await expect
      .poll(
        async () => containers(await api.get('deployments', 'shop', 'pay-alice'))[0]?.image,
        POLL,
      )
      .toBe('registry.example.com/pay:1');
    await api.delete('services', 'shop', 'cart-alice');
    await expect
      .poll(async () => (await api.get('services', 'shop', 'cart-alice'))?.metadata.uid, POLL)
      .toBeDefined();
  });

  it('publishes the preview VirtualService, accepted by Istio’s CRD schema, in the entry namespace', async () => {
    const preview = await api.get('virtualservices', 'web', 'kubefork-preview-alice');
    expect(preview?.spec).toEqual({
      hosts: ['alice.preview.example.com'],
      gateways: ['istio-system/preview'],
      http: [
        {
          name: 'kubefork-preview',
          headers: { request: { set: { 'x-fork-identifier': 'alice' } } },
          route: [{ destination: { host: 'frontend.web.svc.cluster.local' } }],
        },
      ],
    });
  });

  it('writes nothing when a new controller finds everything in place', async () => {
    // The Service deleted by hand above made its VSConfig ServiceNotFound for a moment: let the
    // VSConfig reconciler settle first, or the new controller would rightly write that status.
    for (const name of ['cart-alice', 'pay-alice']) {
      await expect
        .poll(async () => {
          const vsconfig = await api.get('vsconfigs', 'shop', name);
          const conditions = (vsconfig?.status?.conditions ?? []) as {
            type: string;
            reason: string;
          }[];
          return conditions.find((c) => c.type === 'Ready')?.reason;
        }, POLL)
        .toBe('Accepted');
    }
    await controller.stop();
    controller = await startForkController(cluster);
    await expect.poll(() => controller.isReady(), POLL).toBe(true);
    await expect
      .poll(() => metric(controller, 'kubefork_fork_reconcile_total', 'unchanged'), POLL)
      .toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const text = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
    const writes = text.split('\n').filter((l) => /^kubefork_api_writes_total\{.*\} [1-9]/.test(l));
    expect(writes).toEqual([]);
  });

  it('a second Fork with the same fork id gets ForkIdInUse and nothing', async () => {
    const twin = await api.create(
      'forks',
      'shop',
      fork('shop', 'alice-again', { forkId: 'alice', services: [{ name: 'pay' }] }),
    );
    expect(twin.status).toBe(201);
    await expect.poll(() => api.readiness('shop', 'alice-again'), POLL).toBe('False/ForkIdInUse');
    const owned = (await api.list('deployments', 'shop')).filter((d) =>
      d.metadata.ownerReferences?.some((r) => r.uid === twin.body.metadata.uid),
    );
    expect(owned).toEqual([]);
    await api.delete('forks', 'shop', 'alice-again');
  });

  it('deleting the Fork removes everything it made, through the garbage collector and the controller', async () => {
    await api.delete('forks', 'shop', 'alice');
    for (const kind of ['deployments', 'services', 'vsconfigs'] as const) {
      for (const name of ['cart-alice', 'pay-alice']) {
        await expect.poll(() => api.get(kind, 'shop', name), GC).toBeUndefined();
      }
    }
    await expect.poll(() => api.list('pods', 'shop', 'kubefork.dev/fork=alice'), GC).toEqual([]);
    await expect
      .poll(() => api.get('virtualservices', 'web', 'kubefork-preview-alice'), POLL)
      .toBeUndefined();
    // No fork left on the host: the VSConfig reconciler removes its VirtualService.
    await expect.poll(() => api.get('virtualservices', 'shop', 'cart'), POLL).toBeUndefined();
    expect((await api.list('deployments', 'shop')).map((d) => d.metadata.name).sort()).toEqual([
      'cart',
      'pay',
    ]);
  });
});

describe('a baseline release', () => {
  it('flows into the copy, overrides kept', async () => {
    await createWorkload(api, 'release', 'cart', { app: 'cart' });
    await api.create(
      'forks',
      'release',
      fork('release', 'bob', {
        services: [{ name: 'cart', env: [{ name: 'MODE', value: 'dev' }] }],
      }),
    );
    await expect.poll(() => api.readiness('release', 'bob'), POLL).toBe('True/Forked');
    await api.mergePatch('deployments', 'release', 'cart', {
      spec: {
        template: {
          metadata: { annotations: { release: '2' } },
          spec: { containers: [{ name: 'app', image: 'registry.example.com/cart:2' }] },
        },
      },
    });
    await expect
      .poll(
        async () => containers(await api.get('deployments', 'release', 'cart-bob'))[0]?.image,
        POLL,
      )
      .toBe('registry.example.com/cart:2');
    const copy = await api.get('deployments', 'release', 'cart-bob');
    expect(containers(copy)[0]?.env).toEqual([
      { name: 'MODE', value: 'dev' },
      { name: 'KUBEFORK_FORK_ID', value: 'bob' },
    ]);
    const template = copy?.spec?.template as { metadata: { annotations?: Record<string, string> } };
    expect(template.metadata.annotations).toEqual({ release: '2' });
  });
});

describe('TTL', () => {
  it('deletes the Fork when its TTL runs out, and the garbage collector its copies', async () => {
    await createWorkload(api, 'ttl', 'cart', { app: 'cart' });
    await api.create(
      'forks',
      'ttl',
      fork('ttl', 'short', { ttl: '6s', services: [{ name: 'cart' }] }),
    );
    await expect.poll(() => api.readiness('ttl', 'short'), POLL).toBe('True/Forked');
    expect(await api.get('deployments', 'ttl', 'cart-short')).toBeDefined();
    const expiresAt = (await api.get('forks', 'ttl', 'short'))?.status?.expiresAt;
    await expect.poll(() => api.get('forks', 'ttl', 'short'), POLL).toBeUndefined();
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(String(expiresAt)));
    await expect.poll(() => api.get('deployments', 'ttl', 'cart-short'), GC).toBeUndefined();
    expect(await metric(controller, 'kubefork_fork_expirations_total')).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('restarts the clock when the extend-at annotation changes', async () => {
    await api.create(
      'forks',
      'ttl',
      fork('ttl', 'extended', { ttl: '1h', services: [{ name: 'cart' }] }),
    );
    await expect.poll(() => api.readiness('ttl', 'extended'), POLL).toBe('True/Forked');
    const before = Date.parse(
      String((await api.get('forks', 'ttl', 'extended'))?.status?.expiresAt),
    );
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await api.mergePatch('forks', 'ttl', 'extended', {
      metadata: { annotations: { 'kubefork.dev/extend-at': 'now' } },
    });
    await expect
      .poll(
        async () =>
          Date.parse(String((await api.get('forks', 'ttl', 'extended'))?.status?.expiresAt)),
        POLL,
      )
      .toBeGreaterThanOrEqual(before + 2000);
  });
});

describe('limits', () => {
  it('gives QuotaExceeded to Forks past --max-forks-per-namespace (3 here), oldest first', async () => {
    await createWorkload(api, 'quota', 'cart', { app: 'cart' });
    for (const name of ['q1', 'q2', 'q3', 'q4']) {
      await api.create('forks', 'quota', fork('quota', name, { services: [{ name: 'cart' }] }));
      // Distinct creation seconds: the order is by creationTimestamp.
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    for (const name of ['q1', 'q2', 'q3']) {
      await expect.poll(() => api.readiness('quota', name), POLL).toBe('True/Forked');
    }
    await expect.poll(() => api.readiness('quota', 'q4'), POLL).toBe('False/QuotaExceeded');
    expect(await api.get('deployments', 'quota', 'cart-q4')).toBeUndefined();
    await api.delete('forks', 'quota', 'q1');
    await expect.poll(() => api.readiness('quota', 'q4'), POLL).toBe('True/Forked');
  });

  it('gives ImageNotAllowed to an image outside --allowed-image-prefix and copies nothing', async () => {
    await createWorkload(api, 'images', 'cart', { app: 'cart' });
    await api.create(
      'forks',
      'images',
      fork('images', 'evil', { services: [{ name: 'cart', image: 'evil.example.org/cart:1' }] }),
    );
    await expect.poll(() => api.readiness('images', 'evil'), POLL).toBe('False/ImageNotAllowed');
    expect(await api.get('deployments', 'images', 'cart-evil')).toBeUndefined();
  });

  it('gives PreviewInUse to a Fork whose id already has the preview host in another namespace', async () => {
    // `release` already forks cart; the same fork id in `images` would need the same preview host.
    await api.create('forks', 'release', fork('release', 'same', { services: [{ name: 'cart' }] }));
    await expect.poll(() => api.readiness('release', 'same'), POLL).toBe('True/Forked');
    await api.create('forks', 'images', fork('images', 'same', { services: [{ name: 'cart' }] }));
    await expect.poll(() => api.readiness('images', 'same'), POLL).toBe('False/PreviewInUse');
    const preview = await api.get('virtualservices', 'web', 'kubefork-preview-same');
    expect(preview?.metadata.annotations?.['kubefork.dev/owner']).toBe('release/same');
    // Its copies are made all the same: only the preview URL is missing.
    expect(await api.get('deployments', 'images', 'cart-same')).toBeDefined();
  });

  it('reports NoDeployment for a Service whose pods no Deployment makes', async () => {
    await api.create('services', 'images', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lonely', namespace: 'images' },
      spec: { selector: { app: 'lonely' }, ports: [{ port: 80 }] },
    });
    await api.create(
      'forks',
      'images',
      fork('images', 'nodeploy', { services: [{ name: 'lonely' }] }),
    );
    await expect.poll(() => api.readiness('images', 'nodeploy'), POLL).toBe('False/NoDeployment');
  });
});

describe('the admission policy (deploy/fork-admission.yaml)', () => {
  beforeAll(async () => {
    await createWorkload(api, 'admission', 'cart', { app: 'cart' });
    const role = (name: string, rules: unknown[]) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: 'admission' },
      rules,
    });
    const binding = (user: string, roleName: string) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: user, namespace: 'admission' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    });
    const forks = {
      apiGroups: ['kubefork.dev'],
      resources: ['forks'],
      verbs: ['create', 'get', 'update', 'patch'],
    };
    await cluster.apply([
      role('forks-only', [forks]),
      role('forks-and-workloads', [
        forks,
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create'] },
        { apiGroups: [''], resources: ['services'], verbs: ['create'] },
      ]),
      binding('dev-forks-only', 'forks-only'),
      binding('dev-full', 'forks-and-workloads'),
    ] as never);
  });

  async function createAs(user: string, name: string) {
    const client = new ApiClient(cluster.server, cluster.caFile, cluster.token(user));
    try {
      return await new Api(client).create(
        'forks',
        'admission',
        fork('admission', name, { services: [{ name: 'cart' }] }),
      );
    } finally {
      client.close();
    }
  }

  it('admits a Fork from a user who may create deployments and services there', async () => {
    const { status } = await createAs('dev-full', 'allowed');
    expect(status).toBe(201);
    await expect.poll(() => api.readiness('admission', 'allowed'), POLL).toBe('True/Forked');
  });

  it('checks spec changes too, but lets anyone who may update a Fork extend its TTL', async () => {
    const client = new ApiClient(cluster.server, cluster.caFile, cluster.token('dev-forks-only'));
    try {
      const path = '/apis/kubefork.dev/v1beta1/namespaces/admission/forks/allowed';
      const patch = (body: unknown) =>
        client.request<{ message?: string }>('PATCH', path, {
          body,
          contentType: 'application/merge-patch+json',
          allowError: true,
        });
      const extend = await patch({ metadata: { annotations: { 'kubefork.dev/extend-at': '1' } } });
      expect(extend.status).toBe(200);
      const respec = await patch({ spec: { services: [{ name: 'cart', replicas: 5 }] } });
      expect(respec.status).toBe(403);
      expect(respec.body.message).toMatch(/may not create deployments/);
    } finally {
      client.close();
    }
  });

  it('refuses a Fork from a user who may create Forks but not deployments', async () => {
    const { status, body } = await createAs('dev-forks-only', 'denied');
    expect(status).toBe(403);
    expect(body.message).toMatch(/kubefork-fork-creator-rights/);
    expect(body.message).toMatch(/may not create deployments in namespace admission/);
    expect(await api.get('forks', 'admission', 'denied')).toBeUndefined();
  });
});

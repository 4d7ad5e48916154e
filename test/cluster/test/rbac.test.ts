// deploy/rbac.yaml against the real API server: the controller, authenticated as the
// ServiceAccount it binds, does everything it does in production (leader election, applies,
// status, events, drift repair, deletes; Forks: copies, Services, VSConfigs, the preview
// VirtualService, TTL expiry). The real RBAC authorizer (and the
// OwnerReferencesPermissionEnforcement admission plugin) must allow every request, and every rule
// must be used by one (least privilege is proven by use, not by reading the YAML).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEPLOY_DIR, type ProxiedRequest } from '../src/index.js';
import { ControllerCluster } from './support/controller-cluster.js';
import { Api, createWorkload, fork, installDeploy, PREVIEW } from './support/forks.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

let k: ControllerCluster;

beforeAll(async () => {
  k = await ControllerCluster.start();
  await installDeploy(k.cluster);
  await k.cluster.ensureNamespace('web');
});

afterAll(async () => {
  await k?.close();
});

function granted(): string[] {
  const objects = parseAllDocuments(readFileSync(join(DEPLOY_DIR, 'rbac.yaml'), 'utf8')).map(
    (doc) => doc.toJS() as { kind: string; rules?: Rule[] },
  );
  return objects
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
    .flatMap((o) => o.rules ?? [])
    .flatMap((rule) =>
      rule.apiGroups.flatMap((group) =>
        rule.resources.flatMap((resource) =>
          rule.verbs.map((verb) => `${group}/${resource}:${verb}`),
        ),
      ),
    );
}

const permission = (r: ProxiedRequest) =>
  `${r.group}/${r.subresource ? `${r.plural}/${r.subresource}` : r.plural}:${r.verb}`;

it('allows every request the controller sends, and grants nothing it does not use', async () => {
  const NS = await k.namespace();
  await k.createServices(NS, 'cart', 'cart-alice');
  const controller = await k.startController({
    leaderElection: { leaseNamespace: 'kubefork-system', retryPeriodMs: 50 },
    forks: true,
    preview: PREVIEW,
  });
  await expect.poll(() => controller.isLeader()).toBe(true);
  await k.applyVSConfig(NS, 'cart-alice', {
    headerValue: 'alice',
    host: 'cart',
    service: 'cart-alice',
  });
  await k.applyVSConfig(NS, 'cart-dup', {
    headerValue: 'alice',
    host: 'cart',
    service: 'cart-alice',
  });
  await expect.poll(() => k.readiness(NS, 'cart-dup')).toBe('False/DuplicateHeaderValue');
  await expect.poll(async () => (await k.events(NS)).length).toBeGreaterThan(0);
  await k.patchVirtualService(NS, 'cart', { spec: { gateways: ['mesh'] } });
  await expect
    .poll(async () => (await k.virtualService(NS, 'cart'))?.spec.gateways)
    .toBeUndefined();
  await k.deleteVSConfig(NS, 'cart-alice');
  await k.deleteVSConfig(NS, 'cart-dup');
  await expect.poll(() => k.virtualService(NS, 'cart')).toBeUndefined();
  // A Fork of two services, then of one (the other's copies are deleted), then its TTL runs out.
  const api = new Api(k.cluster.admin);
  await createWorkload(api, NS, 'pay', { app: 'pay' });
  await createWorkload(api, NS, 'ship', { app: 'ship' });
  await api.create('forks', NS, fork(NS, 'bob', { services: [{ name: 'pay' }, { name: 'ship' }] }));
  await expect.poll(() => api.readiness(NS, 'bob'), { timeout: 30_000 }).toBe('True/Forked');
  expect(await api.get('deployments', NS, 'ship-bob')).toBeDefined();
  await api.mergePatch('forks', NS, 'bob', { spec: { services: [{ name: 'pay' }], ttl: '3s' } });
  await expect.poll(() => api.get('deployments', NS, 'ship-bob')).toBeUndefined();
  await expect.poll(() => api.get('forks', NS, 'bob'), { timeout: 20_000 }).toBeUndefined();
  await k.stopController(controller);

  const requests = k.proxy.requests.filter((r) => r.user === 'controller');
  expect(requests.length).toBeGreaterThan(10);
  expect(requests.filter((r) => r.status === 401 || r.status === 403).map(permission)).toEqual([]);
  const used = new Set(requests.map(permission));
  // Server-side apply creates an object through PATCH; `create` covers API servers that also
  // check it for an apply that creates (this one does not). forks/finalizers is checked inside
  // admission (OwnerReferencesPermissionEnforcement), not sent as a request: the Fork copies
  // carry blockOwnerDeletion, so without that grant the applies above would have been refused.
  expect(
    granted()
      .filter((g) => !used.has(g))
      .sort(),
  ).toEqual([
    '/services:create',
    'apps/deployments:create',
    'kubefork.dev/forks/finalizers:update',
    'kubefork.dev/vsconfigs:create',
    'networking.istio.io/virtualservices:create',
  ]);
});

it('refuses the controller what its RBAC does not grant', async () => {
  const NS = await k.namespace();
  const kubeConfig = await k.controllerKubeConfig();
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await expect(core.listNamespacedSecret({ namespace: NS })).rejects.toMatchObject({ code: 403 });
  await expect(
    core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'sneaky' } } }),
  ).rejects.toMatchObject({ code: 403 });
});

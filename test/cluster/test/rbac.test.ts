// deploy/rbac.yaml against the real API server: the controller, authenticated as the
// ServiceAccount it binds, does everything it does in production (leader election, applies,
// status, events, drift repair, deletes). The real RBAC authorizer must allow every request, and
// every rule must be used by one (least privilege is proven by use, not by reading the YAML).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEPLOY_DIR, type ProxiedRequest } from '../src/index.js';
import { ControllerCluster } from './support/controller-cluster.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

let k: ControllerCluster;

beforeAll(async () => {
  k = await ControllerCluster.start({ controllerManager: false });
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
  await k.stopController(controller);

  const requests = k.proxy.requests.filter((r) => r.user === 'controller');
  expect(requests.length).toBeGreaterThan(10);
  expect(requests.filter((r) => r.status === 401 || r.status === 403).map(permission)).toEqual([]);
  const used = new Set(requests.map(permission));
  // Server-side apply creates an object through PATCH; `create` covers API servers that also
  // check it for an apply that creates (this one does not).
  expect(granted().filter((g) => !used.has(g))).toEqual([
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
    core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'sneaky' }, spec: { ports: [{ port: 80 }] } },
    }),
  ).rejects.toMatchObject({ code: 403 });
});

import { describe, expect, it } from 'vitest';
import { copyName, labelValue, nameSegment } from '../src/fork-names.js';
import { planFork, selects } from '../src/fork-plan.js';
import type { Deployment, Fork, PlanForkInput, Service } from '../src/fork-types.js';
import { deployment, fork, service } from './support/fork-fixtures.js';

const cartPods = { app: 'cart', tier: 'backend', version: 'v3' };
const services = [
  service('cart', { app: 'cart' }),
  // A second baseline Service selecting the same pods on other labels.
  service('backend', { tier: 'backend' }),
  service('pay', { app: 'pay' }),
];
const deployments = [deployment('cart', cartPods), deployment('pay', { app: 'pay' })];

function plan(target: Fork, extra: Partial<PlanForkInput> = {}) {
  return planFork({ fork: target, forks: [target], services, deployments, ...extra });
}

const alice = fork('alice', [{ name: 'cart' }, { name: 'pay', replicas: 2 }]);

function copyOf(result: ReturnType<typeof planFork>, name: string) {
  const entry = result.services.find((s) => s.name === name)!;
  return { deployment: entry.deployment!, service: entry.service!, vsConfig: entry.vsConfig! };
}

describe('planFork: the copies', () => {
  it('copies the Deployment of each Service as <deployment>-<forkId>, owned by the Fork', () => {
    const result = plan(alice);
    expect(result).toMatchObject({ forkId: 'alice', ready: true, reason: 'Forked' });
    const { deployment: copy } = copyOf(result, 'cart');
    expect(copy.metadata.name).toBe('cart-alice');
    expect(copy.metadata.namespace).toBe('shop');
    expect(copy.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'kubefork.dev/v1beta1',
        kind: 'Fork',
        name: 'alice',
        uid: 'uid-alice',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('gives the copy fresh metadata: no status, uid, resourceVersion, managedFields or foreign owners', () => {
    const { deployment: copy } = copyOf(plan(alice), 'cart');
    const metadata = copy.metadata as Record<string, unknown>;
    for (const field of [
      'uid',
      'resourceVersion',
      'generation',
      'creationTimestamp',
      'managedFields',
    ]) {
      expect(metadata).not.toHaveProperty(field);
    }
    expect(copy).not.toHaveProperty('status');
    expect(JSON.stringify(copy)).not.toContain('argoproj');
    expect(JSON.stringify(copy)).not.toContain('creationTimestamp');
    expect(copy.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'kubefork',
      'kubefork.dev/fork': 'alice',
      'kubefork.dev/service': 'cart',
    });
    expect(Object.keys(copy.metadata.annotations ?? {})).toEqual(['kubefork.dev/applied-hash']);
  });

  it('takes replicas from the Fork: 1 by default, whatever the original runs', () => {
    const result = plan(alice);
    expect(copyOf(result, 'cart').deployment.spec?.replicas).toBe(1);
    expect(copyOf(result, 'pay').deployment.spec?.replicas).toBe(2);
  });

  it('sets KUBEFORK_FORK_ID in every container and init container', () => {
    const multi = deployment('cart', cartPods, [
      { name: 'app', image: 'cart:1', env: [{ name: 'KUBEFORK_FORK_ID', value: 'stale' }] },
      { name: 'proxy', image: 'proxy:1' },
    ]);
    (multi.spec!.template!.spec as Record<string, unknown>).initContainers = [
      { name: 'migrate', image: 'cart:1' },
    ];
    const result = plan(alice, { deployments: [multi, deployments[1]!] });
    const pod = copyOf(result, 'cart').deployment.spec?.template?.spec;
    for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      expect(container.env?.filter((e) => e.name === 'KUBEFORK_FORK_ID')).toEqual([
        { name: 'KUBEFORK_FORK_ID', value: 'alice' },
      ]);
    }
    expect(pod?.containers).toHaveLength(2);
  });

  it('applies image and env overrides to the named container: same-name replaced, others appended', () => {
    const multi = deployment('cart', cartPods, [
      {
        name: 'app',
        image: 'cart:1',
        env: [
          { name: 'MODE', value: 'prod' },
          { name: 'KEEP', value: '1' },
        ],
      },
      { name: 'proxy', image: 'proxy:1' },
    ]);
    const target = fork('alice', [
      {
        name: 'cart',
        container: 'app',
        image: 'registry.example.com/cart:pr-123',
        env: [
          { name: 'MODE', value: 'dev' },
          { name: 'FEATURE_X', value: 'on' },
        ],
      },
    ]);
    const result = plan(target, { deployments: [multi] });
    const [app, proxy] = copyOf(result, 'cart').deployment.spec?.template?.spec?.containers ?? [];
    expect(app?.image).toBe('registry.example.com/cart:pr-123');
    expect(app?.env).toEqual([
      { name: 'MODE', value: 'dev' },
      { name: 'KEEP', value: '1' },
      { name: 'FEATURE_X', value: 'on' },
      { name: 'KUBEFORK_FORK_ID', value: 'alice' },
    ]);
    expect(proxy?.image).toBe('proxy:1');
    expect(proxy?.env).toEqual([{ name: 'KUBEFORK_FORK_ID', value: 'alice' }]);
  });

  it('replaces a variable that came from valueFrom by the plain value', () => {
    const withSecret = deployment('cart', cartPods);
    withSecret.spec!.template!.spec!.containers![0]!.env = [
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ];
    const target = fork('alice', [{ name: 'cart', env: [{ name: 'TOKEN', value: 'test' }] }]);
    const [app] =
      copyOf(plan(target, { deployments: [withSecret] }), 'cart').deployment.spec?.template?.spec
        ?.containers ?? [];
    expect(app?.env?.[0]).toEqual({ name: 'TOKEN', value: 'test' });
  });

  it('never lets a baseline Service select a fork pod, and selects the copy by kubefork labels only', () => {
    const result = plan(alice);
    const { deployment: copy } = copyOf(result, 'cart');
    const labels = copy.spec?.template?.metadata?.labels ?? {};
    for (const baseline of services) expect(selects(baseline.spec?.selector, labels)).toBe(false);
    expect(labels).toMatchObject({ 'kubefork.dev/fork': 'alice', 'kubefork.dev/service': 'cart' });
    // Labels nobody selects on are kept as they are.
    expect(labels.version).toBe('v3');
    expect(labels.app).toBe('cart-alice');
    expect(labels.tier).toBe('backend-alice');
    expect(copy.spec?.selector).toEqual({
      matchLabels: { 'kubefork.dev/fork': 'alice', 'kubefork.dev/service': 'cart' },
    });
    expect(selects(copy.spec?.selector?.matchLabels, labels)).toBe(true);
  });

  it('drops a label whose forked value another baseline Service happens to select', () => {
    const trap = [...services, service('cart-alice-svc', { app: 'cart-alice' })];
    const { deployment: copy } = copyOf(plan(alice, { services: trap }), 'cart');
    const labels = copy.spec?.template?.metadata?.labels ?? {};
    for (const baseline of trap) expect(selects(baseline.spec?.selector, labels)).toBe(false);
    expect(labels).not.toHaveProperty('app');
  });

  it('makes a ClusterIP Service <service>-<forkId> with the same ports that selects only the fork pods', () => {
    const { service: copy, deployment: copied } = copyOf(plan(alice), 'cart');
    expect(copy.metadata.name).toBe('cart-alice');
    expect(copy.spec).toEqual({
      type: 'ClusterIP',
      selector: { 'kubefork.dev/fork': 'alice', 'kubefork.dev/service': 'cart' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(selects(copy.spec?.selector, copied.spec?.template?.metadata?.labels ?? {})).toBe(true);
    expect(copy.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Fork', uid: 'uid-alice' });
  });

  it('makes a VSConfig routing the fork id from the Service to its copy', () => {
    const { vsConfig } = copyOf(plan(alice), 'pay');
    expect(vsConfig).toMatchObject({
      apiVersion: 'kubefork.dev/v1beta1',
      kind: 'VSConfig',
      metadata: { name: 'pay-alice', namespace: 'shop' },
      spec: { headerValue: 'alice', host: 'pay', service: 'pay-alice' },
    });
    expect(vsConfig.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Fork',
      controller: true,
    });
  });

  it('is deterministic, and the hash annotation changes when the baseline release changes', () => {
    const hash = (d: Deployment) => d.metadata.annotations?.['kubefork.dev/applied-hash'];
    const first = copyOf(plan(alice), 'cart').deployment;
    expect(copyOf(plan(alice), 'cart').deployment).toEqual(first);
    const released = deployment('cart', cartPods, [
      { name: 'app', image: 'registry.example.com/cart:2' },
    ]);
    const next = copyOf(
      plan(alice, { deployments: [released, deployments[1]!] }),
      'cart',
    ).deployment;
    expect(hash(next)).not.toBe(hash(first));
    expect(next.spec?.template?.spec?.containers?.[0]?.image).toBe('registry.example.com/cart:2');
  });

  it('keeps the override across a baseline release', () => {
    const target = fork('alice', [{ name: 'cart', image: 'registry.example.com/cart:pr-1' }]);
    const released = deployment('cart', cartPods, [
      { name: 'app', image: 'registry.example.com/cart:2' },
    ]);
    released.spec!.template!.metadata!.annotations = { rollout: 'two' };
    const copy = copyOf(plan(target, { deployments: [released] }), 'cart').deployment;
    expect(copy.spec?.template?.spec?.containers?.[0]?.image).toBe(
      'registry.example.com/cart:pr-1',
    );
    expect(copy.spec?.template?.metadata?.annotations).toEqual({ rollout: 'two' });
  });
});

describe('planFork: names', () => {
  it('cuts names over 63 characters with a stable hash', () => {
    const long = `a${'b'.repeat(55)}`;
    const name = copyName(long, 'alice');
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    expect(copyName(long, 'alice')).toBe(name);
    expect(copyName(long, 'alicf')).not.toBe(name);
  });

  it('turns fork ids that are no DNS label into distinct names', () => {
    expect(nameSegment('alice')).toBe('alice');
    expect(nameSegment('Alice')).toMatch(/^alice-[0-9a-f]{8}$/);
    expect(nameSegment('Alice')).not.toBe(nameSegment('ALICE'));
    expect(copyName('cart', 'pr_12.x')).toMatch(/^cart-pr-12-x-[0-9a-f]{8}$/);
    expect(labelValue('alice-')).toMatch(/^alice-[0-9a-f]{8}$/);
    expect(labelValue('Alice.1')).toBe('Alice.1');
  });
});

describe('planFork: reasons', () => {
  it('reports ServiceNotFound and still forks the other services', () => {
    const result = plan(fork('alice', [{ name: 'cart' }, { name: 'ghost' }]));
    expect(result).toMatchObject({ ready: false, reason: 'ServiceNotFound' });
    expect(result.services.map((s) => [s.name, s.reason, s.deployment?.metadata.name])).toEqual([
      ['cart', 'Forked', 'cart-alice'],
      ['ghost', 'ServiceNotFound', undefined],
    ]);
  });

  it('reports NoDeployment for a Service whose pods no Deployment makes, or without selector', () => {
    const extra = [
      ...services,
      service('orphan', { app: 'orphan' }),
      service('external', undefined),
    ];
    const result = plan(fork('alice', [{ name: 'orphan' }, { name: 'external' }]), {
      services: extra,
    });
    expect(result.services.map((s) => s.reason)).toEqual(['NoDeployment', 'NoDeployment']);
    expect(result.services[1]?.message).toMatch(/no selector/);
  });

  it('reports AmbiguousDeployment when the Service selects the pods of two Deployments', () => {
    const two = [...deployments, deployment('cart-canary', { ...cartPods, track: 'canary' })];
    const result = plan(fork('alice', [{ name: 'cart' }]), { deployments: two });
    expect(result).toMatchObject({ ready: false, reason: 'AmbiguousDeployment' });
    expect(result.services[0]?.message).toContain('cart, cart-canary');
    expect(result.services[0]?.deployment).toBeUndefined();
  });

  it('ignores copies made by Forks when looking for the Deployment', () => {
    const copy = copyOf(plan(alice), 'cart').deployment;
    const result = plan(fork('bob', [{ name: 'cart' }]), { deployments: [...deployments, copy] });
    expect(result.reason).toBe('Forked');
  });

  it('requires the container for overrides on pods of several containers, and a container that exists', () => {
    const multi = deployment('cart', cartPods, [
      { name: 'app', image: 'cart:1' },
      { name: 'proxy', image: 'proxy:1' },
    ]);
    const input = { deployments: [multi] };
    expect(plan(fork('a', [{ name: 'cart', image: 'x:1' }]), input).reason).toBe(
      'ContainerRequired',
    );
    expect(plan(fork('a', [{ name: 'cart', image: 'x:1', container: 'db' }]), input).reason).toBe(
      'ContainerNotFound',
    );
    // No override: nothing to aim, any pod will do.
    expect(plan(fork('a', [{ name: 'cart' }]), input).reason).toBe('Forked');
  });

  it('reports ImageNotAllowed for an image outside the allowed prefixes', () => {
    const allowed = { allowedImagePrefixes: ['registry.example.com/'] };
    const bad = plan(fork('a', [{ name: 'cart', image: 'evil.example.org/cart:1' }]), allowed);
    expect(bad).toMatchObject({ ready: false, reason: 'ImageNotAllowed' });
    expect(bad.services[0]?.deployment).toBeUndefined();
    const good = plan(fork('a', [{ name: 'cart', image: 'registry.example.com/cart:2' }]), allowed);
    expect(good.reason).toBe('Forked');
    // The baseline's own image is not an override.
    expect(plan(fork('a', [{ name: 'cart' }]), { allowedImagePrefixes: ['other/'] }).reason).toBe(
      'Forked',
    );
  });

  it('gives a fork id to the oldest Fork only: the younger gets ForkIdInUse and nothing', () => {
    const older = fork('alice', [{ name: 'cart' }], { created: '2026-12-01T09:00:00Z' });
    const younger = fork('alice2', [{ name: 'pay' }], { forkId: 'alice' });
    const forks = [younger, older];
    expect(planFork({ fork: older, forks, services, deployments }).reason).toBe('Forked');
    const result = planFork({ fork: younger, forks, services, deployments });
    expect(result).toMatchObject({
      ready: false,
      reason: 'ForkIdInUse',
      services: [],
      preview: null,
    });
    expect(result.message).toContain('"alice"');
  });

  it('admits at most maxForksPerNamespace Forks, oldest first; deleting ones do not count', () => {
    const forks = ['a', 'b', 'c'].map((name, i) =>
      fork(name, [{ name: 'cart' }], { created: `2026-12-01T10:00:0${i}Z` }),
    );
    const reasons = (list: Fork[]) =>
      forks.map(
        (f) =>
          planFork({ fork: f, forks: list, services, deployments, maxForksPerNamespace: 2 }).reason,
      );
    expect(reasons(forks)).toEqual(['Forked', 'Forked', 'QuotaExceeded']);
    const deleting = structuredClone(forks);
    deleting[0]!.metadata.deletionTimestamp = '2026-12-01T11:00:00Z';
    expect(
      planFork({ fork: forks[2]!, forks: deleting, services, deployments, maxForksPerNamespace: 2 })
        .reason,
    ).toBe('Forked');
  });

  it('reports Invalid for a Fork that breaks the CRD rules, never throwing', () => {
    const bad = fork('alice', [{ name: 'cart' }, { name: 'cart' }]);
    expect(plan(bad)).toMatchObject({ ready: false, reason: 'Invalid', services: [] });
    const longName = fork('x'.repeat(70), [{ name: 'cart' }]);
    expect(plan(longName).message).toMatch(/set spec.forkId/);
    expect(plan({ ...alice, spec: null } as unknown as Fork).reason).toBe('Invalid');
  });

  it('throws a TypeError naming the option for mistakes of the caller', () => {
    expect(() => plan(alice, { maxForksPerNamespace: 0 })).toThrow(/maxForksPerNamespace/);
    expect(() => plan(alice, { allowedImagePrefixes: [''] })).toThrow(/allowedImagePrefixes/);
    expect(() => planFork({ fork: alice, forks: 'x' } as unknown as PlanForkInput)).toThrow(
      /forks/,
    );
    expect(() =>
      plan(alice, {
        preview: { domain: 'preview', gateway: 'istio-system/preview', entry: 'web/frontend' },
      }),
    ).toThrow(/preview.domain/);
    expect(() =>
      plan(alice, {
        preview: { domain: 'preview.example.com', gateway: 'preview', entry: 'web/frontend' },
      }),
    ).toThrow(/preview.gateway/);
  });
});

describe('planFork: preview', () => {
  const preview = {
    domain: 'preview.example.com',
    gateway: 'istio-system/preview',
    entry: 'web/frontend',
  };

  it('plans a gateway-bound VirtualService that sets the fork header and routes to the entry', () => {
    const result = plan(alice, { preview });
    expect(result.previewURL).toBe('https://alice.preview.example.com/');
    expect(result.preview).toMatchObject({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: {
        name: 'kubefork-preview-alice',
        namespace: 'web',
        labels: { 'kubefork.dev/fork': 'alice', 'app.kubernetes.io/managed-by': 'kubefork' },
        annotations: { 'kubefork.dev/owner': 'shop/alice' },
      },
      spec: {
        hosts: ['alice.preview.example.com'],
        gateways: ['istio-system/preview'],
        http: [
          {
            name: 'kubefork-preview',
            headers: { request: { set: { 'x-fork-identifier': 'alice' } } },
            route: [{ destination: { host: 'frontend.web.svc.cluster.local' } }],
          },
        ],
      },
    });
    // Another namespace: an owner reference would make the garbage collector delete it at once.
    expect(result.preview?.metadata.ownerReferences).toBeUndefined();
  });

  it('owns the preview VirtualService when the entry lives in the Fork namespace', () => {
    const result = plan(alice, { preview: { ...preview, entry: 'shop/cart' } });
    expect(result.preview?.metadata.ownerReferences?.[0]).toMatchObject({ uid: 'uid-alice' });
  });

  it('plans no preview without a preview domain, or for a Fork that is not admitted', () => {
    expect(plan(alice).preview).toBeNull();
    const twin = fork('alice2', [{ name: 'cart' }], {
      forkId: 'alice',
      created: '2026-12-02T00:00:00Z',
    });
    expect(
      planFork({ fork: twin, forks: [alice, twin], services, deployments, preview }).preview,
    ).toBeNull();
  });
});

describe('selects', () => {
  it('needs a non-empty selector whose every label matches', () => {
    expect(selects({ app: 'cart' }, { app: 'cart', x: 'y' })).toBe(true);
    expect(selects({ app: 'cart', x: 'z' }, { app: 'cart', x: 'y' })).toBe(false);
    expect(selects({}, { app: 'cart' })).toBe(false);
    expect(selects(undefined, { app: 'cart' })).toBe(false);
  });
});

describe('planFork input', () => {
  it('does not change the objects it is given', () => {
    const before = structuredClone({ services, deployments });
    plan(alice, { preview: { domain: 'p.example.com', gateway: 'a/b', entry: 'web/frontend' } });
    expect({ services, deployments }).toEqual(before);
  });

  it('accepts Services from the typed client as plain objects', () => {
    const typed = services.map((s) => ({ ...s })) as Service[];
    expect(plan(alice, { services: typed }).reason).toBe('Forked');
  });
});

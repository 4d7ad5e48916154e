// The `kubefork` bin against the real control plane: the built bin runs as a child process with
// KUBECONFIG pointing at a test user's kubeconfig (RBAC granted below), the Fork controller runs
// in this process under the ServiceAccount deploy/rbac.yaml binds, and the real admission chain
// runs deploy/fork-admission.yaml.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from '@kubefork/controller';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCluster, type TestCluster } from '../src/index.js';
import { kubefork } from './support/cli.js';
import {
  Api,
  createWorkload,
  installDeploy,
  type Obj,
  PREVIEW,
  startForkController,
  until,
} from './support/forks.js';

let cluster: TestCluster;
let api: Api;
let controller: Controller | undefined;
/** KUBECONFIG of each test user. */
const as: Record<string, { KUBECONFIG: string }> = {};

const POLL = { timeout: 30_000, interval: 200 };
// The garbage collector discovers the Fork CRD (installed after kube-controller-manager started)
// within 30 s; until then it cannot delete what a deleted Fork owned.
const GC_MS = 100_000;

function role(name: string, rules: unknown[]) {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules,
    },
  ];
}

function binding(kind: 'RoleBinding' | 'ClusterRoleBinding', roleName: string, user: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata:
      kind === 'RoleBinding'
        ? { name: `${roleName}-${user}`, namespace: 'shop' }
        : { name: `${roleName}-${user}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  };
}

beforeAll(async () => {
  cluster = await startCluster({
    users: [{ name: 'dev' }, { name: 'forks-only' }, { name: 'nobody' }],
  });
  api = new Api(cluster.admin);
  await installDeploy(cluster);
  await cluster.ensureNamespace('shop');
  await cluster.ensureNamespace('other');
  // The preview VirtualServices live in the namespace of PREVIEW.entry.
  await cluster.ensureNamespace(PREVIEW.entry.split('/')[0]!);
  // A developer: Forks, and the right to create what a Fork makes (the admission policy asks).
  await cluster.apply([
    ...role('kubefork-developer', [
      { apiGroups: ['kubefork.dev'], resources: ['forks'], verbs: ['*'] },
      { apiGroups: ['kubefork.dev'], resources: ['vsconfigs'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'create'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'create'] },
    ]),
    ...role('kubefork-fork-lister', [
      { apiGroups: ['kubefork.dev'], resources: ['forks'], verbs: ['get', 'list'] },
    ]),
    ...role('kubefork-forks-only', [
      { apiGroups: ['kubefork.dev'], resources: ['forks'], verbs: ['*'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get'] },
    ]),
    binding('RoleBinding', 'kubefork-developer', 'dev'),
    binding('ClusterRoleBinding', 'kubefork-fork-lister', 'dev'),
    binding('RoleBinding', 'kubefork-forks-only', 'forks-only'),
  ] as never);
  for (const user of ['dev', 'forks-only', 'nobody']) {
    as[user] = { KUBECONFIG: cluster.userKubeconfig(user) };
  }
  await createWorkload(api, 'shop', 'b', { app: 'b' });
  await createWorkload(api, 'shop', 'e', { app: 'e' });
  await createWorkload(api, 'other', 'b', { app: 'b' });
  controller = await startForkController(cluster, {
    maxForksPerNamespace: 20,
    maxForkTtl: '24h',
  });
  await until('the controller to be ready', () => controller!.isReady());
});

afterAll(async () => {
  await controller?.stop();
  await cluster?.stop();
});

describe('kubefork fork', () => {
  it('applies the Fork as kubefork-cli and prints the fork id, the header and the preview URL', async () => {
    const { code, stdout, stderr } = await kubefork(
      [
        'fork',
        'b',
        'e',
        '--id',
        'alice',
        '--image',
        'b=registry.example.com/b:pr-1',
        '--env',
        'e:MODE=test',
        '-n',
        'shop',
      ],
      as.dev!,
    );
    expect(stderr).not.toMatch(/at .*\.js:\d+/);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^fork: +alice$/m);
    expect(stdout).toMatch(/^header: +x-fork-identifier: alice$/m);
    expect(stdout).toContain(`preview:   https://alice.${PREVIEW.domain}/`);
    const fork = (await api.get('forks', 'shop', 'alice')) as Obj & {
      metadata: { managedFields?: { manager: string; operation: string }[] };
    };
    expect(fork.metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'kubefork-cli', operation: 'Apply' }),
    );
    expect(fork.spec).toMatchObject({
      services: [
        { name: 'b', image: 'registry.example.com/b:pr-1' },
        { name: 'e', env: [{ name: 'MODE', value: 'test' }] },
      ],
    });
    await expect.poll(() => api.get('deployments', 'shop', 'b-alice'), POLL).toBeDefined();
  });

  it('applying again with other flags updates the same Fork', async () => {
    const { code, stderr } = await kubefork(
      ['fork', 'b', 'e', '--id', 'alice', '--replicas', 'e=2', '-n', 'shop'],
      as.dev!,
    );
    expect(code, stderr).toBe(0);
    const fork = await api.get('forks', 'shop', 'alice');
    // What the first apply set and this one does not (b's image, e's env) is gone; the CRD
    // defaults what is left out (ttl 8h, replicas 1).
    expect(fork?.spec).toEqual({
      ttl: '8h',
      services: [
        { name: 'b', replicas: 1 },
        { name: 'e', replicas: 2 },
      ],
    });
    await expect
      .poll(async () => (await api.get('deployments', 'shop', 'e-alice'))?.spec?.replicas, POLL)
      .toBe(2);
  });

  it('--wait returns once every copy is routed and has its replicas ready', async () => {
    // No kubelet here: pods never become ready, so only copies of 0 replicas can be Ready.
    const { code, stdout, stderr } = await kubefork(
      [
        'fork',
        'b',
        'e',
        '--id',
        'zero',
        '--replicas',
        'b=0',
        '--replicas',
        'e=0',
        '-n',
        'shop',
        '--wait',
        '--timeout',
        '60s',
      ],
      as.dev!,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/b: copy b-zero, 0\/0 ready, route Ready/);
    expect(stderr).toMatch(/e: copy e-zero, 0\/0 ready, route Ready/);
    expect(stdout).toMatch(/^fork: +zero$/m);
  });

  it('--wait exits 1 at the timeout naming what is still missing', async () => {
    const { code, stderr } = await kubefork(
      ['fork', 'b', '--id', 'slow', '-n', 'shop', '--wait', '--timeout', '4s'],
      as.dev!,
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /slow is not Ready after 4s; still missing:\n +b: (.*, )?0\/1 replicas ready/,
    );
  });

  it('says which service does not exist, and writes nothing', async () => {
    const { code, stderr } = await kubefork(
      ['fork', 'b', 'nope', '--id', 'typo', '-n', 'shop'],
      as.dev!,
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/unknown service "nope" in namespace shop/);
    expect(await api.get('forks', 'shop', 'typo')).toBeUndefined();
  });

  it('refuses an invalid fork id with exit code 2 before calling the cluster', async () => {
    const { code, stderr } = await kubefork(['fork', 'b', '--id', 'a/b', '-n', 'shop'], as.dev!);
    expect(code).toBe(2);
    expect(stderr).toMatch(/invalid fork id "a\/b"/);
  });

  it('tells a user without rights which verb on which resource is forbidden', async () => {
    const { code, stderr } = await kubefork(
      ['fork', 'b', '--id', 'mallory', '-n', 'shop'],
      as.nobody!,
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /forbidden: you may not create or update \(patch\) forks in namespace shop/,
    );
    expect(stderr).toMatch(/right to create deployments and services/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('tells a user who may create Forks but not deployments that the admission policy refused', async () => {
    const { code, stderr } = await kubefork(
      ['fork', 'b', '--id', 'eve', '-n', 'shop'],
      as['forks-only']!,
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/may not create deployments in namespace shop/);
    expect(stderr).toMatch(/admission policy kubefork-fork-creator-rights/);
  });

  it('warns when the cluster caps the TTL asked for', async () => {
    const { code, stderr } = await kubefork(
      ['fork', 'b', '--id', 'long', '--ttl', '30d', '-n', 'shop'],
      as.dev!,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(
      /warning: the cluster caps a Fork's TTL at 1d .*long expires at .*, not after the 30d asked for/,
    );
  });
});

describe('kubefork ls and status', () => {
  it('ls lists the Forks of the namespace as a table', async () => {
    const { code, stdout } = await kubefork(['ls', '-n', 'shop'], as.dev!);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^FORK ID +SERVICES +READY +EXPIRES +PREVIEW$/);
    expect(lines.find((line) => line.startsWith('alice '))).toMatch(
      /^alice +b,e +True +in 7h5\dm +https:\/\/alice\.preview\.example\.com\/$/,
    );
  });

  it('ls -A -o yaml lists every namespace as YAML', async () => {
    const { code, stdout } = await kubefork(['ls', '-A', '-o', 'yaml'], as.dev!);
    expect(code).toBe(0);
    const { items } = parse(stdout) as {
      items: { namespace: string; forkId: string; ready: string }[];
    };
    expect(items).toContainEqual(
      expect.objectContaining({ namespace: 'shop', forkId: 'alice', ready: 'True' }),
    );
  });

  it('status shows each service: copy, ready replicas, route', async () => {
    const { code, stdout } = await kubefork(['status', 'alice', '-n', 'shop'], as.dev!);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Header: +x-fork-identifier: alice$/m);
    expect(stdout).toMatch(/^SERVICE +COPY +READY +ROUTE +REASON$/m);
    expect(stdout).toMatch(/^b +b-alice +0\/1 +Ready$/m);
    expect(stdout).toMatch(/^e +e-alice +0\/2 +Ready$/m);
  });

  it('status -o json gives the reason of a service that could not be forked', async () => {
    await api.create('forks', 'shop', {
      apiVersion: 'kubefork.dev/v1beta1',
      kind: 'Fork',
      metadata: { name: 'ghost', namespace: 'shop' },
      spec: { services: [{ name: 'b' }, { name: 'gone' }] },
    });
    await expect.poll(() => api.readiness('shop', 'ghost'), POLL).toBe('False/ServiceNotFound');
    const { code, stdout } = await kubefork(
      ['status', 'ghost', '-n', 'shop', '-o', 'json'],
      as.dev!,
    );
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(status).toMatchObject({ forkId: 'ghost', ready: 'False', reason: 'ServiceNotFound' });
    expect(status.services[1]).toMatchObject({ service: 'gone', reason: 'ServiceNotFound' });
  });

  it('status of a fork id that does not exist fails with exit 1', async () => {
    const { code, stderr } = await kubefork(['status', 'nobody-here', '-n', 'shop'], as.dev!);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no Fork "nobody-here" in namespace shop/);
  });

  it('follows KUBECONFIG lists, --context and the context namespace as kubectl does', async () => {
    // Two files: the first's current context is a user without rights; --context picks dev's,
    // whose namespace is shop (no -n).
    const devFile = join(cluster.dir, 'dev-shop.kubeconfig');
    const dev = parse((await import('node:fs')).readFileSync(as.dev!.KUBECONFIG, 'utf8'));
    dev.contexts = [
      { name: 'dev-shop', context: { cluster: 'kubefork-test', user: 'dev', namespace: 'shop' } },
    ];
    dev['current-context'] = 'dev-shop';
    writeFileSync(devFile, JSON.stringify(dev));
    const env = { KUBECONFIG: `${as.nobody!.KUBECONFIG}:${devFile}` };
    const denied = await kubefork(['ls'], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/forbidden: you may not list forks in namespace default/);
    const { code, stdout } = await kubefork(['ls', '--context', 'dev-shop', '-o', 'json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).items.map((item: { forkId: string }) => item.forkId)).toContain(
      'alice',
    );
    const unknown = await kubefork(['ls', '--context', 'missing'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/context "missing" is not in the kubeconfig/);
  });
});

describe('kubefork extend', () => {
  it('restarts the clock with the extend-at annotation and the new TTL', async () => {
    const before = Date.now();
    const { code, stdout, stderr } = await kubefork(
      ['extend', 'alice', '12h', '-n', 'shop'],
      as.dev!,
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^alice: expires at \S+ \(in 11h5\dm\)$/m);
    const fork = await api.get('forks', 'shop', 'alice');
    expect(fork?.spec?.ttl).toBe('12h');
    expect(
      Date.parse(fork?.metadata.annotations?.['kubefork.dev/extend-at'] ?? ''),
    ).toBeGreaterThanOrEqual(before - 1000);
    const expires = Date.parse(String(fork?.status?.expiresAt));
    expect(expires).toBeGreaterThan(before + 11.9 * 3_600_000);
  });

  it('fails when the cluster caps the duration asked for', async () => {
    const { code, stderr } = await kubefork(['extend', 'alice', '3d', '-n', 'shop'], as.dev!);
    expect(code).toBe(1);
    expect(stderr).toMatch(/the cluster caps a Fork's TTL at 1d/);
  });
});

describe('kubefork rm', () => {
  it(
    '--wait returns once the Fork and its copies, Services and VSConfigs are gone',
    async () => {
      expect(await api.get('deployments', 'shop', 'b-alice')).toBeDefined();
      const { code, stdout, stderr } = await kubefork(
        ['rm', 'alice', '-n', 'shop', '--wait', '--timeout', '100s'],
        as.dev!,
        GC_MS + 20_000,
      );
      expect(code, stderr).toBe(0);
      expect(stdout).toBe('fork alice deleted, and everything it made is gone\n');
      for (const kind of ['forks', 'deployments', 'services', 'vsconfigs'] as const) {
        const name = kind === 'forks' ? 'alice' : kind === 'deployments' ? 'b-alice' : 'e-alice';
        expect(await api.get(kind, 'shop', name), `${kind} ${name}`).toBeUndefined();
      }
    },
    GC_MS + 30_000,
  );

  it('rm of a fork id that does not exist fails with exit 1', async () => {
    const { code, stderr } = await kubefork(['rm', 'alice', '-n', 'shop'], as.dev!);
    expect(code).toBe(1);
    expect(stderr).toMatch(/no Fork "alice" in namespace shop/);
  });
});

describe('without the Fork CRD', () => {
  it('says how to install it', async () => {
    await controller?.stop();
    controller = undefined;
    await cluster.admin.request(
      'DELETE',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/forks.kubefork.dev',
    );
    await until(
      'the Fork API to be gone',
      async () => {
        const { status } = await cluster.admin.request(
          'GET',
          '/apis/kubefork.dev/v1beta1/namespaces/shop/forks',
          {
            allowError: true,
          },
        );
        return status === 404;
      },
      60_000,
    );
    const { code, stderr } = await kubefork(['ls', '-n', 'shop'], as.dev!);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /forks\.kubefork\.dev\) is not installed in this cluster: install the CRDs and the controller: kubectl apply -k packages\/controller\/deploy/,
    );
  }, 90_000);
});

// The manifests in deploy/ checked against the controller itself: the RBAC rules against the
// requests the controller really sends, the Deployment's arguments and probes against the CLI.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { binPath } from './support/cli.js';
import { FakeCluster } from './support/cluster.js';
import type { RequestRecord } from './support/fake-api/server.js';

const deployDir = new URL('../deploy/', import.meta.url);

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

async function manifests(file: string): Promise<Manifest[]> {
  const text = await readFile(new URL(file, deployDir), 'utf8');
  return parseAllDocuments(text).map((doc) => doc.toJSON() as Manifest);
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  env: { name: string }[];
}

async function deployment() {
  const [object] = (await manifests('deployment.yaml')).filter((m) => m.kind === 'Deployment');
  const spec = (
    object as unknown as {
      spec: {
        template: { spec: { containers: Container[]; securityContext: Record<string, unknown> } };
      };
    }
  ).spec.template.spec;
  return { pod: spec, container: spec.containers[0]! };
}

let cluster: FakeCluster;

beforeEach(async () => {
  cluster = await FakeCluster.start();
});

afterEach(async () => {
  await cluster.close();
});

describe('kustomization.yaml', () => {
  it('includes every manifest in deploy/', async () => {
    const [kustomization] = await manifests('kustomization.yaml');
    const files = (await readdir(deployDir)).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml',
    );
    expect(((kustomization as unknown as { resources: string[] }).resources ?? []).sort()).toEqual(
      files.sort(),
    );
  });
});

describe('deployment.yaml', () => {
  it('runs as non-root with a read-only root filesystem and no capabilities', async () => {
    const { pod, container } = await deployment();
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });

  it('sets resource requests and a memory limit', async () => {
    const { container } = await deployment();
    expect(container.resources.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources.limits?.memory).toEqual(expect.any(String));
  });

  it('probes the endpoints the controller serves, on the port its arguments name', async () => {
    const { container } = await deployment();
    const port = container.ports.find((p) => p.name === 'metrics')!.containerPort;
    expect(container.args).toContain(`--metrics-port=${port}`);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('has arguments the CLI accepts: the controller becomes ready with them', async () => {
    const { container } = await deployment();
    const home = await mkdtemp(join(tmpdir(), 'kubefork-deploy-'));
    try {
      const kubeconfig = join(home, 'kubeconfig');
      await writeFile(kubeconfig, cluster.server.kubeConfigYaml());
      // The same arguments, on a free port instead of 8080.
      const args = container.args.map((arg) =>
        arg.startsWith('--metrics-port=') ? '--metrics-port=0' : arg,
      );
      const child = spawn(process.execPath, [binPath, ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          KUBECONFIG: kubeconfig,
          POD_NAMESPACE: 'kubefork-system',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const portOf = () => /"metricsPort":(\d+)/.exec(stderr)?.[1];
      await expect.poll(portOf, { timeout: 15_000 }).toBeDefined();
      const status = () => fetch(`http://127.0.0.1:${portOf()}/readyz`).then((r) => r.status);
      await expect.poll(status, { timeout: 15_000 }).toBe(200);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('rbac.yaml', () => {
  /** The verb RBAC checks for a request the fake server recorded. */
  function permission(r: RequestRecord) {
    return {
      group: r.group,
      resource: r.subresource ? `${r.plural}/${r.subresource}` : r.plural,
      verb: r.verb,
      namespace: r.namespace,
      name: r.name,
    };
  }

  async function rules() {
    const objects = await manifests('rbac.yaml');
    const clusterRole = objects.find((m) => m.kind === 'ClusterRole') as unknown as {
      rules: Rule[];
    };
    const role = objects.find((m) => m.kind === 'Role') as unknown as {
      rules: Rule[];
      metadata: { namespace: string };
    };
    return {
      clusterRules: clusterRole.rules,
      roleRules: role.rules,
      roleNamespace: role.metadata.namespace,
    };
  }

  function allows(rule: Rule, p: ReturnType<typeof permission>): boolean {
    return (
      rule.apiGroups.includes(p.group) &&
      rule.resources.includes(p.resource) &&
      rule.verbs.includes(p.verb) &&
      (rule.resourceNames === undefined ||
        (p.name !== undefined && rule.resourceNames.includes(p.name)))
    );
  }

  /** Everything the controller does, with leader election, against the fake server. */
  async function exercise(): Promise<RequestRecord[]> {
    const NS = 'shop';
    cluster.createServices(NS, 'cart', 'cart-alice');
    const controller = await cluster.startController({
      leaderElection: { leaseNamespace: 'kubefork-system', retryPeriodMs: 50 },
      forks: true,
      preview: {
        domain: 'preview.example.com',
        gateway: 'istio-system/preview',
        entry: 'web/frontend',
      },
    });
    cluster.applyVSConfig(NS, 'cart-alice', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    cluster.applyVSConfig(NS, 'cart-dup', {
      headerValue: 'alice',
      host: 'cart',
      service: 'cart-alice',
    });
    await expect.poll(() => cluster.readiness(NS, 'cart-dup')).toBe('False/DuplicateHeaderValue');
    await expect.poll(() => cluster.events(NS).length).toBeGreaterThan(0);
    cluster.patchVirtualService(NS, 'cart', { spec: { gateways: ['mesh'] } });
    await expect.poll(() => cluster.virtualService(NS, 'cart')?.spec.gateways).toBeUndefined();
    cluster.deleteVSConfig(NS, 'cart-alice');
    cluster.deleteVSConfig(NS, 'cart-dup');
    await expect.poll(() => cluster.virtualService(NS, 'cart')).toBeUndefined();
    // A Fork of two services, then of one (the other's copies are deleted), then its TTL runs out.
    cluster.createWorkload(NS, 'pay');
    cluster.createWorkload(NS, 'ship');
    cluster.applyFork(NS, 'bob', { services: [{ name: 'pay' }, { name: 'ship' }] });
    await expect.poll(() => cluster.forkReadiness(NS, 'bob')).toBe('True/Forked');
    expect(cluster.deployment(NS, 'ship-bob')).toBeDefined();
    cluster.applyFork(NS, 'bob', { services: [{ name: 'pay' }], ttl: '3s' });
    await expect.poll(() => cluster.deployment(NS, 'ship-bob')).toBeUndefined();
    await expect.poll(() => cluster.forkExists(NS, 'bob'), { timeout: 10_000 }).toBe(false);
    await cluster.stopController(controller);
    return cluster.server.requests;
  }

  it('allows every request the controller sends, and nothing it does not use', async () => {
    const { clusterRules, roleRules, roleNamespace } = await rules();
    const requests = (await exercise()).map(permission);
    const denied = requests.filter(
      (p) =>
        !clusterRules.some((rule) => allows(rule, p)) &&
        !(p.namespace === roleNamespace && roleRules.some((rule) => allows(rule, p))),
    );
    expect(denied).toEqual([]);

    const granted = [...clusterRules, ...roleRules].flatMap((rule) =>
      rule.resources.flatMap((resource) =>
        rule.verbs.map((verb) => `${rule.apiGroups[0]}/${resource}:${verb}`),
      ),
    );
    const used = new Set(requests.map((p) => `${p.group}/${p.resource}:${p.verb}`));
    // Server-side apply creates an object through PATCH; `create` covers API servers that also
    // check it for an apply that creates.
    const unused = granted.filter((g) => !used.has(g));
    // forks/finalizers: only checked by the OwnerReferencesPermissionEnforcement admission
    // plugin, which the fake server does not run (the real one in test/cluster does).
    expect(unused.sort()).toEqual([
      '/services:create',
      'apps/deployments:create',
      'kubefork.dev/forks/finalizers:update',
      'kubefork.dev/vsconfigs:create',
      'networking.istio.io/virtualservices:create',
    ]);
  });
});

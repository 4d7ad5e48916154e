// The harness itself: a real control plane with RBAC on, real CRDs, the controllers the Fork
// tests rely on (deployment, replicaset, garbage collector), ServiceAccount tokens, and no
// process left behind — not even when the test process is killed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startCluster, type TestCluster } from '../src/index.js';

let cluster: TestCluster;
let startedInMs = 0;

beforeAll(async () => {
  const start = performance.now();
  cluster = await startCluster({ users: [{ name: 'dev', groups: ['developers'] }] });
  startedInMs = performance.now() - start;
  console.info(`startCluster: ready in ${(startedInMs / 1000).toFixed(1)} s`);
});

afterAll(async () => {
  await cluster?.stop();
});

/** Running (a zombie that nobody reaped yet counts as gone: it holds no port and no memory). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pids: number[], timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((pid) => !alive(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('startCluster', () => {
  it('serves a ready API server over TLS with the admin kubeconfig', async () => {
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(cluster.kubeconfig)).toBe(true);
    const { status, body } = await cluster.admin.request('GET', '/readyz');
    expect(status).toBe(200);
    expect(body).toBe('ok');
    expect(cluster.pids()).toHaveLength(3);
  });

  it('runs a Kubernetes release built from k8s.io/kubernetes', async () => {
    const { body } = await cluster.admin.request<{
      major: string;
      minor: string;
      gitVersion: string;
    }>('GET', '/version');
    expect(`${body.major}.${body.minor}`).toMatch(/^1\.\d+$/);
    expect(Number(body.minor)).toBeGreaterThanOrEqual(34);
  });

  it('installs kubefork’s CRDs and every Istio CRD of istio.io/api', async () => {
    const { body } = await cluster.admin.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    );
    const names = body.items.map((crd) => crd.metadata.name);
    expect(names).toContain('vsconfigs.kubefork.dev');
    expect(names).toContain('virtualservices.networking.istio.io');
    expect(names.filter((name) => name.endsWith('.istio.io')).length).toBeGreaterThanOrEqual(15);
  });

  it('enforces RBAC: a user without a binding is forbidden', async () => {
    const dev = new ApiClient(cluster.server, cluster.caFile, cluster.token('dev'));
    try {
      const { status } = await dev.request('GET', '/api/v1/namespaces/default/services', {
        allowError: true,
      });
      expect(status).toBe(403);
    } finally {
      dev.close();
    }
  });

  it('rejects an unknown token', async () => {
    const stranger = new ApiClient(cluster.server, cluster.caFile, 'not-a-token');
    try {
      const { status } = await stranger.request('GET', '/api/v1/namespaces', { allowError: true });
      expect(status).toBe(401);
    } finally {
      stranger.close();
    }
  });

  it('issues real ServiceAccount tokens, bound by RBAC like any subject', async () => {
    await cluster.ensureNamespace('harness');
    await cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'reader', namespace: 'harness' },
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'read-services', namespace: 'harness' },
        rules: [{ apiGroups: [''], resources: ['services'], verbs: ['list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'reader', namespace: 'harness' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-services' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'harness' }],
      },
    ]);
    const kubeconfig = await cluster.serviceAccountKubeconfig('harness', 'reader');
    const token = /token: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
    const reader = new ApiClient(cluster.server, cluster.caFile, token);
    try {
      const allowed = await reader.request('GET', '/api/v1/namespaces/harness/services', {
        allowError: true,
      });
      expect(allowed.status).toBe(200);
      const denied = await reader.request('GET', '/api/v1/namespaces/default/services', {
        allowError: true,
      });
      expect(denied.status).toBe(403);
      expect((denied.body as { message: string }).message).toContain(
        'system:serviceaccount:harness:reader',
      );
    } finally {
      reader.close();
    }
  });

  it('runs the deployment and replicaset controllers: a Deployment gets its Pods (which never run)', async () => {
    await cluster.ensureNamespace('harness');
    await cluster.apply([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'harness' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] },
          },
        },
      },
    ]);
    await expect
      .poll(
        async () => {
          const { body } = await cluster.admin.request<{ items: unknown[] }>(
            'GET',
            '/api/v1/namespaces/harness/pods?labelSelector=app%3Dweb',
          );
          return body.items.length;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(2);
  });

  it('runs the garbage collector: deleting an owner deletes what it owns', async () => {
    await cluster.ensureNamespace('harness');
    const [owner] = await cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'owner', namespace: 'harness' },
      },
    ]);
    await cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'owned',
          namespace: 'harness',
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              name: 'owner',
              uid: owner!.metadata.uid as string,
            },
          ],
        },
      },
    ]);
    await cluster.admin.request('DELETE', '/api/v1/namespaces/harness/configmaps/owner');
    await expect
      .poll(
        async () =>
          (
            await cluster.admin.request('GET', '/api/v1/namespaces/harness/configmaps/owned', {
              allowError: true,
            })
          ).status,
        { timeout: 30_000, interval: 200 },
      )
      .toBe(404);
  });

  it('comes back on the same address after the API server is killed', async () => {
    await cluster.restartApiServer({ crash: true });
    const { status } = await cluster.admin.request('GET', '/readyz');
    expect(status).toBe(200);
  });
});

describe('processes', () => {
  it('stop() leaves no process behind', async () => {
    const second = await startCluster({ crds: [], controllerManager: false });
    const pids = second.pids();
    expect(pids.length).toBe(2);
    await second.stop();
    expect(await gone(pids, 1_000)).toBe(true);
  });

  it('a test process killed with SIGKILL leaves no process behind', async () => {
    const script = fileURLToPath(new URL('./support/start-and-wait.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.setEncoding('utf8');
    const pids = await new Promise<number[]>((resolve, reject) => {
      child.stdout!.on('data', (chunk: string) => {
        output += chunk;
        const line = output.split('\n').find((l) => l.startsWith('pids '));
        if (line) resolve(line.slice(5).split(',').map(Number));
      });
      child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${output}`)));
    });
    expect(pids.length).toBe(2);
    expect(pids.every(alive)).toBe(true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await gone(pids)).toBe(true);
  });
});

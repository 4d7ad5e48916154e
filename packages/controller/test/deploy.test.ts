// The manifests in deploy/ checked against the controller itself: the Deployment's arguments and
// probes against the CLI. The RBAC rules are proven by use on a real API server
// (test/cluster/test/rbac.test.ts, `pnpm test:cluster`).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { binPath } from './support/cli.js';
import { FakeCluster } from './support/cluster.js';

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

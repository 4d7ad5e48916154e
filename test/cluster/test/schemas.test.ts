// What kubefork writes for Kubernetes, checked by the real API server: the deploy/ kustomization
// and the demo's manifests through the real kubectl (server-side dry run), and every
// VirtualService that `render` and `planHost` produce against Istio's real CRD schema.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { planHost, type VirtualService, type VSConfig } from '@kubefork/controller';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DEPLOY_DIR, startCluster, type TestCluster } from '../src/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO = join(ROOT, 'examples/fork-mesh/k8s');
const CONTROLLER_BIN = join(ROOT, 'packages/controller/dist/bin.js');
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ controllerManager: false });
});

afterAll(async () => {
  await cluster?.stop();
});

const kubectl = (...args: string[]) =>
  run('kubectl', ['--kubeconfig', cluster.kubeconfig, ...args], { encoding: 'utf8' });

/** Server-side dry-run create: the API server validates and admits, then stores nothing. */
async function dryRunCreate(vs: VirtualService): Promise<{ status: number; message?: string }> {
  const ns = vs.metadata.namespace ?? 'default';
  const { status, body } = await cluster.admin.request<{ message?: string }>(
    'POST',
    `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices?dryRun=All&fieldValidation=Strict`,
    { body: vs, allowError: true },
  );
  return { status, ...(body?.message ? { message: body.message } : {}) };
}

describe('kubectl against the real API server', () => {
  it('accepts the controller’s deploy/ kustomization (server-side dry run)', async () => {
    // A dry run creates no namespace, so the objects inside it would find none.
    await kubectl('apply', '-f', join(DEPLOY_DIR, 'namespace.yaml'), '--server-side');
    const { stdout } = await kubectl(
      'apply',
      '-k',
      DEPLOY_DIR,
      '--server-side',
      '--dry-run=server',
    );
    expect(stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/vsconfigs.kubefork.dev',
    );
    expect(stdout).toContain('deployment.apps/kubefork-controller');
    expect(stdout).toMatch(/serverside-applied \(server dry run\)/);
  });

  it('accepts the fork-mesh demo’s manifests, VSConfigs included (server-side dry run)', async () => {
    await kubectl('apply', '-f', join(DEMO, 'namespace.yaml'), '--server-side');
    const { stdout } = await kubectl('apply', '-k', DEMO, '--server-side', '--dry-run=server');
    expect(stdout).toContain('vsconfig.kubefork.dev/b-alice');
  });
});

describe('Istio’s CRD schema', () => {
  it('rejects a VirtualService that breaks it (the check can fail)', async () => {
    await cluster.ensureNamespace('schemas');
    const bad = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'bad', namespace: 'schemas' },
      spec: {
        hosts: ['cart'],
        http: [{ route: [{ destination: { host: 'cart' }, weight: 'all' }] }],
      },
    } as unknown as VirtualService;
    const { status } = await dryRunCreate(bad);
    expect(status).toBe(422);
  });

  it('accepts every VirtualService render produces for the demo’s VSConfigs', async () => {
    const files = readdirSync(join(DEMO, 'forks')).map((name) => join(DEMO, 'forks', name));
    const { stdout } = await run(process.execPath, [CONTROLLER_BIN, 'render', ...files], {
      encoding: 'utf8',
    });
    const rendered = parseAllDocuments(stdout).map((doc) => doc.toJS() as VirtualService);
    expect(rendered.length).toBeGreaterThanOrEqual(2);
    await cluster.ensureNamespace('fork-mesh');
    for (const vs of rendered) {
      expect(await dryRunCreate(vs), vs.metadata.name).toEqual({ status: 201 });
    }
  });

  it('accepts the VirtualServices planHost builds for 300 generated sets of VSConfigs', async () => {
    await cluster.ensureNamespace('generated');
    const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,12}[a-z0-9])?$/);
    const forkId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/);
    const input = fc.record({
      host: label,
      forks: fc.uniqueArray(
        fc.record({
          value: forkId,
          service: label,
          port: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }),
        }),
        {
          minLength: 1,
          maxLength: 6,
          selector: (f) => f.value,
        },
      ),
    });
    const samples = fc.sample(input, { numRuns: 300, seed: 20_261_202 });
    let checked = 0;
    for (const { host, forks } of samples) {
      const vsconfigs: VSConfig[] = forks.map((f, i) => ({
        apiVersion: 'kubefork.dev/v1beta1',
        kind: 'VSConfig',
        metadata: {
          name: `f${i}`,
          namespace: 'generated',
          creationTimestamp: `2026-01-0${1 + (i % 9)}T00:00:00Z`,
        },
        spec: {
          headerName: 'x-fork-identifier',
          headerValue: f.value,
          host,
          service: f.service,
          ...(f.port === undefined ? {} : { port: f.port }),
        },
      }));
      const { virtualService } = planHost({ namespace: 'generated', host, vsconfigs });
      if (!virtualService) continue;
      const result = await dryRunCreate(virtualService);
      expect(result, JSON.stringify(virtualService)).toEqual({ status: 201 });
      checked++;
    }
    expect(checked).toBeGreaterThan(250);
  });
});

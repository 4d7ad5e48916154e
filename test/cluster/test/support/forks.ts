// The Fork suites' setup on the real control plane: deploy/ applied as `kubectl apply -k` would
// (namespace, RBAC, admission policy; the CRDs are installed by startCluster), the controller
// started in-process under the ServiceAccount deploy/rbac.yaml binds, and small helpers to read
// what it made.
import { join } from 'node:path';
import { type Controller, type ControllerOptions, startController } from '@kubefork/controller';
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { type ApiClient, DEPLOY_DIR, readManifests, type TestCluster } from '../../src/index.js';

export const PREVIEW = {
  domain: 'preview.example.com',
  gateway: 'istio-system/preview',
  entry: 'web/frontend',
};

/** Installs what deploy/ installs besides the CRDs and the controller's own Deployment. */
export async function installDeploy(cluster: TestCluster): Promise<void> {
  for (const file of ['namespace.yaml', 'rbac.yaml', 'fork-admission.yaml']) {
    await cluster.apply(readManifests(join(DEPLOY_DIR, file)));
  }
}

/** The controller, in this process, as the ServiceAccount `kubefork-system/kubefork-controller`. */
export async function startForkController(
  cluster: TestCluster,
  options: ControllerOptions = {},
): Promise<Controller> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(
    await cluster.serviceAccountKubeconfig('kubefork-system', 'kubefork-controller'),
  );
  return startController({
    kubeConfig,
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    resyncSeconds: 3600,
    processMetrics: false,
    retry: { baseDelayMs: 20, maxDelayMs: 1000 },
    informerBackoff: { initialMs: 50, maxMs: 500 },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    preview: PREVIEW,
    allowedImagePrefixes: ['registry.example.com/'],
    maxForksPerNamespace: 3,
    ...options,
  });
}

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    generation?: number;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const PATHS: Record<string, (ns: string) => string> = {
  forks: (ns) => `/apis/kubefork.dev/v1beta1/namespaces/${ns}/forks`,
  vsconfigs: (ns) => `/apis/kubefork.dev/v1beta1/namespaces/${ns}/vsconfigs`,
  deployments: (ns) => `/apis/apps/v1/namespaces/${ns}/deployments`,
  services: (ns) => `/api/v1/namespaces/${ns}/services`,
  pods: (ns) => `/api/v1/namespaces/${ns}/pods`,
  virtualservices: (ns) => `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`,
};

export type Kind = keyof typeof PATHS;

export class Api {
  readonly #client: ApiClient;

  constructor(client: ApiClient) {
    this.#client = client;
  }

  async get(kind: Kind, ns: string, name: string): Promise<Obj | undefined> {
    const { status, body } = await this.#client.request<Obj>('GET', `${PATHS[kind]!(ns)}/${name}`, {
      allowError: true,
    });
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET ${kind} ${ns}/${name}: ${status}`);
    return body;
  }

  async list(kind: Kind, ns: string, labelSelector?: string): Promise<Obj[]> {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const { body } = await this.#client.request<{ items: Obj[] }>(
      'GET',
      `${PATHS[kind]!(ns)}${query}`,
    );
    return body.items;
  }

  async create(
    kind: Kind,
    ns: string,
    object: unknown,
  ): Promise<{ status: number; body: Obj & { message?: string } }> {
    return this.#client.request('POST', PATHS[kind]!(ns), { body: object, allowError: true });
  }

  async mergePatch(kind: Kind, ns: string, name: string, patch: unknown): Promise<Obj> {
    const { body } = await this.#client.request<Obj>('PATCH', `${PATHS[kind]!(ns)}/${name}`, {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
    return body;
  }

  async delete(kind: Kind, ns: string, name: string, propagation = 'Background'): Promise<void> {
    await this.#client.request(
      'DELETE',
      `${PATHS[kind]!(ns)}/${name}?propagationPolicy=${propagation}`,
    );
  }

  /** `status/reason` of a Fork's Ready condition. */
  async readiness(ns: string, name: string): Promise<string | undefined> {
    const fork = await this.get('forks', ns, name);
    const conditions = (fork?.status?.conditions ?? []) as {
      type: string;
      status: string;
      reason: string;
    }[];
    const ready = conditions.find((c) => c.type === 'Ready');
    return ready ? `${ready.status}/${ready.reason}` : undefined;
  }
}

/** A Service `name` selecting `selector`, and a Deployment whose pods carry `podLabels`. */
export async function createWorkload(
  api: Api,
  ns: string,
  name: string,
  podLabels: Record<string, string>,
  options: { selector?: Record<string, string>; containers?: unknown[] } = {},
): Promise<void> {
  const selector = options.selector ?? { app: name };
  const created = await api.create('services', ns, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  expect(created.status).toBe(201);
  const deployment = await api.create('deployments', ns, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: podLabels },
        spec: {
          containers: options.containers ?? [
            {
              name: 'app',
              image: `registry.example.com/${name}:1`,
              env: [{ name: 'MODE', value: 'prod' }],
              ports: [{ name: 'http', containerPort: 8080 }],
            },
          ],
        },
      },
    },
  });
  expect(deployment.status).toBe(201);
}

export function fork(ns: string, name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'kubefork.dev/v1beta1',
    kind: 'Fork',
    metadata: { name, namespace: ns },
    spec,
  };
}

/** Whether `selector` (non-empty) selects `labels`, as the endpoints controller decides. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
) {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

/** The value of a counter of the controller's /metrics, summed over the label sets matching `labels`. */
export async function metric(controller: Controller, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const [series, value] = line.split(' ');
    if (series && (series === name || series.startsWith(`${name}{`)) && series.includes(labels)) {
      total += Number(value);
    }
  }
  return total;
}

/** Polls `check` until it holds (for hooks, where expect.poll is not available). */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

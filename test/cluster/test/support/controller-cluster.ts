// The VSConfig controller on the real control plane. One API server per test file; each test gets
// its own namespace. The controller authenticates as the ServiceAccount that
// packages/controller/deploy/rbac.yaml binds (so a request its RBAC does not allow fails the
// test) and reaches the API server through the recording, fault-injecting proxy. Developers and
// operators act as the admin, straight to the API server, as kubectl would.
import { join } from 'node:path';
import type { Controller, ControllerOptions, VirtualService, VSConfig } from '@kubefork/controller';
import { startController } from '@kubefork/controller';
import { KubeConfig } from '@kubernetes/client-node';
import {
  type ApiProxy,
  DEPLOY_DIR,
  type ProxiedRequest,
  type StartClusterOptions,
  startApiProxy,
  startCluster,
  type TestCluster,
} from '../../src/index.js';

export interface CoreEvent {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string; namespace: string };
}

/** Options every test controller gets unless it overrides them: fast and quiet. */
export const FAST: ControllerOptions = {
  metricsPort: 0,
  metricsHost: '127.0.0.1',
  resyncSeconds: 3600,
  processMetrics: false,
  retry: { baseDelayMs: 5, maxDelayMs: 500 },
  informerBackoff: { initialMs: 20, maxMs: 200 },
  logger: { debug() {}, info() {}, warn() {}, error() {} },
};

const VSC = '/apis/kubefork.dev/v1beta1';
const ISTIO = '/apis/networking.istio.io/v1beta1';
let namespaces = 0;

export class ControllerCluster {
  readonly cluster: TestCluster;
  readonly proxy: ApiProxy;
  readonly #controllerToken: string;
  readonly #controllers = new Set<Controller>();

  private constructor(cluster: TestCluster, proxy: ApiProxy, controllerToken: string) {
    this.cluster = cluster;
    this.proxy = proxy;
    this.#controllerToken = controllerToken;
  }

  static async start(options: StartClusterOptions = {}): Promise<ControllerCluster> {
    const cluster = await startCluster(options);
    try {
      // The controller's own namespace, ServiceAccount and RBAC, exactly as shipped.
      await cluster.apply(join(DEPLOY_DIR, 'namespace.yaml'));
      await cluster.apply(join(DEPLOY_DIR, 'rbac.yaml'));
      const token = await cluster.serviceAccountToken('kubefork-system', 'kubefork-controller');
      const proxy = await startApiProxy({
        server: cluster.server,
        caFile: cluster.caFile,
        certFile: cluster.servingCertFile,
        keyFile: cluster.servingKeyFile,
        users: { controller: token, admin: cluster.token('admin') },
      });
      return new ControllerCluster(cluster, proxy, token);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** A fresh namespace for one test. */
  async namespace(prefix = 'shop'): Promise<string> {
    const name = `${prefix}-${++namespaces}`;
    await this.cluster.ensureNamespace(name);
    return name;
  }

  /**
   * A kubeconfig that reaches the API server through the proxy as the controller's
   * ServiceAccount. With `replica`, a token of its own, so that the proxy names its requests so.
   */
  async controllerKubeConfig(replica?: string): Promise<KubeConfig> {
    let token = this.#controllerToken;
    if (replica) {
      token = await this.cluster.serviceAccountToken('kubefork-system', 'kubefork-controller');
      this.proxy.addUser(replica, token);
    }
    const file = this.proxy.kubeconfig(
      join(this.cluster.dir, `controller-via-proxy-${replica ?? 'controller'}.kubeconfig`),
      token,
    );
    const config = new KubeConfig();
    config.loadFromFile(file);
    return config;
  }

  async startController(
    options: ControllerOptions & { replica?: string } = {},
  ): Promise<Controller> {
    const { replica, ...rest } = options;
    const controller = await startController({
      ...FAST,
      kubeConfig: await this.controllerKubeConfig(replica),
      ...rest,
    });
    this.#controllers.add(controller);
    return controller;
  }

  async stopController(controller: Controller): Promise<void> {
    this.#controllers.delete(controller);
    await controller.stop();
  }

  async stopControllers(): Promise<void> {
    await Promise.all([...this.#controllers].map((c) => c.stop()));
    this.#controllers.clear();
    this.proxy.clearFaults();
  }

  async close(): Promise<void> {
    await this.stopControllers();
    await this.proxy.close();
    await this.cluster.stop();
  }

  // --- what a developer does (as the admin, straight to the API server) ---

  async applyVSConfig(
    namespace: string,
    name: string,
    spec: Partial<VSConfig['spec']>,
  ): Promise<VSConfig> {
    const api = this.cluster.admin;
    const path = `${VSC}/namespaces/${namespace}/vsconfigs`;
    if (await this.vsconfig(namespace, name)) {
      const patched = await api.request<VSConfig>('PATCH', `${path}/${name}`, {
        body: { spec },
        contentType: 'application/merge-patch+json',
      });
      return patched.body;
    }
    const created = await api.request<VSConfig>('POST', path, {
      body: {
        apiVersion: 'kubefork.dev/v1beta1',
        kind: 'VSConfig',
        metadata: { name, namespace },
        spec,
      },
    });
    return created.body;
  }

  async deleteVSConfig(namespace: string, name: string): Promise<void> {
    await this.cluster.admin.request('DELETE', `${VSC}/namespaces/${namespace}/vsconfigs/${name}`);
  }

  async vsconfig(namespace: string, name: string): Promise<VSConfig | undefined> {
    const { status, body } = await this.cluster.admin.request<VSConfig>(
      'GET',
      `${VSC}/namespaces/${namespace}/vsconfigs/${name}`,
      { allowError: true },
    );
    return status === 200 ? body : undefined;
  }

  /** `status/reason` of the VSConfig's Ready condition, for polling. */
  async readiness(namespace: string, name: string): Promise<string | undefined> {
    const vsconfig = await this.vsconfig(namespace, name);
    const ready = vsconfig?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready ? `${ready.status}/${ready.reason}` : undefined;
  }

  async createServices(namespace: string, ...names: string[]): Promise<void> {
    for (const name of names) {
      await this.cluster.admin.request('POST', `/api/v1/namespaces/${namespace}/services`, {
        body: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace },
          spec: { ports: [{ port: 80 }], selector: { app: name } },
        },
      });
    }
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    await this.cluster.admin.request('DELETE', `/api/v1/namespaces/${namespace}/services/${name}`);
  }

  // --- what an operator (or another tool) does to VirtualServices ---

  async virtualService(namespace: string, name: string): Promise<VirtualService | undefined> {
    const { status, body } = await this.cluster.admin.request<VirtualService>(
      'GET',
      `${ISTIO}/namespaces/${namespace}/virtualservices/${name}`,
      { allowError: true },
    );
    return status === 200 ? body : undefined;
  }

  async virtualServices(namespace: string): Promise<VirtualService[]> {
    const { body } = await this.cluster.admin.request<{ items: VirtualService[] }>(
      'GET',
      `${ISTIO}/namespaces/${namespace}/virtualservices`,
    );
    return body.items;
  }

  /** Route names of a VirtualService, in order (or undefined when it does not exist). */
  async routes(namespace: string, name: string): Promise<string[] | undefined> {
    return (await this.virtualService(namespace, name))?.spec.http?.map((r) => r.name ?? '?');
  }

  async createVirtualService(virtualService: object, manager = 'helm'): Promise<void> {
    const namespace = (virtualService as VirtualService).metadata.namespace ?? 'default';
    await this.cluster.admin.request(
      'POST',
      `${ISTIO}/namespaces/${namespace}/virtualservices?fieldManager=${manager}`,
      { body: virtualService },
    );
  }

  /** A merge patch, like `kubectl edit` / `kubectl patch --type merge`. */
  async patchVirtualService(
    namespace: string,
    name: string,
    patch: object,
    manager = 'kubectl-edit',
  ): Promise<void> {
    await this.cluster.admin.request(
      'PATCH',
      `${ISTIO}/namespaces/${namespace}/virtualservices/${name}?fieldManager=${manager}`,
      { body: patch, contentType: 'application/merge-patch+json' },
    );
  }

  async deleteVirtualService(namespace: string, name: string): Promise<void> {
    await this.cluster.admin.request(
      'DELETE',
      `${ISTIO}/namespaces/${namespace}/virtualservices/${name}`,
    );
  }

  async events(namespace: string): Promise<CoreEvent[]> {
    const { body } = await this.cluster.admin.request<{ items: CoreEvent[] }>(
      'GET',
      `/api/v1/namespaces/${namespace}/events`,
    );
    return body.items;
  }

  /** Writes the controller sent (through the proxy), optionally filtered. */
  controllerWrites(match?: (request: ProxiedRequest) => boolean): ProxiedRequest[] {
    return this.proxy.writes((r) => r.user === 'controller' && (!match || match(r)));
  }
}

/** Reads one controller's metrics from its real `/metrics` endpoint. */
export async function scrape(controller: Controller): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`);
  return response.text();
}

/** Sum of a metric's samples whose labels include `labels` (e.g. `{ result: 'error' }`). */
export async function metric(
  controller: Controller,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await scrape(controller);
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`)))
      sum += Number(match[3]);
  }
  return sum;
}

/** Resolves when the controller has synced and its queue has been empty for a moment. */
export async function settled(controller: Controller, quietMs = 150): Promise<void> {
  const deadline = performance.now() + 30_000;
  let last = '';
  let since = performance.now();
  for (;;) {
    if (performance.now() > deadline) throw new Error('controller did not settle within 30 s');
    const total = controller.isReady()
      ? `${await metric(controller, 'kubefork_reconcile_total')}|${await metric(controller, 'kubefork_queue_depth')}`
      : 'not ready';
    if (total !== last) {
      last = total;
      since = performance.now();
    } else if (
      total !== 'not ready' &&
      total.endsWith('|0') &&
      performance.now() - since >= quietMs
    ) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// A fake cluster for the tests that stay on the fake API server (CLI, health endpoints, API
// client details): the fake server, what developers do to it (straight into its store), and
// controllers started against it with the real client-node. The controller's behaviour suites run
// on a real kube-apiserver: test/cluster (`pnpm test:cluster`).
import type { Controller, ControllerOptions, VirtualService, VSConfig } from '../../src/index.js';
import { startController } from '../../src/index.js';
import type { JsonObject } from './fake-api/json.js';
import type { ResourceType } from './fake-api/resources.js';
import { FakeApiServer, type FakeApiServerOptions } from './fake-api/server.js';

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

export class FakeCluster {
  readonly server: FakeApiServer;
  readonly #controllers = new Set<Controller>();
  readonly #vsconfigs: ResourceType;
  readonly #virtualServices: ResourceType;
  readonly #services: ResourceType;

  private constructor(server: FakeApiServer) {
    this.server = server;
    this.#vsconfigs = server.store.type('kubefork.dev', 'v1beta1', 'vsconfigs')!;
    this.#virtualServices = server.store.type('networking.istio.io', 'v1beta1', 'virtualservices')!;
    this.#services = server.store.type('', 'v1', 'services')!;
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeCluster> {
    return new FakeCluster(await FakeApiServer.start(options));
  }

  /** Starts a controller against this cluster; `token` tells its requests apart. */
  async startController(options: ControllerOptions & { token?: string } = {}): Promise<Controller> {
    const { token, ...rest } = options;
    const controller = await startController({
      ...FAST,
      kubeConfig: this.server.kubeConfig(token),
      ...rest,
    });
    this.#controllers.add(controller);
    return controller;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#controllers].map((c) => c.stop()));
    this.#controllers.clear();
    await this.server.close();
  }

  // --- what a developer does ---

  /** Creates or replaces a VSConfig's spec (headerValue defaults to the name's first part). */
  applyVSConfig(namespace: string, name: string, spec: Partial<VSConfig['spec']>): VSConfig {
    const store = this.server.store;
    const body = {
      apiVersion: 'kubefork.dev/v1beta1',
      kind: 'VSConfig',
      metadata: { name, namespace },
      spec,
    } as unknown as JsonObject;
    const existing = this.vsconfig(namespace, name);
    if (!existing) {
      return store.create(this.#vsconfigs, 'kubefork.dev/v1beta1', namespace, body, {
        manager: 'kubectl',
      }) as unknown as VSConfig;
    }
    return store.patch(
      this.#vsconfigs,
      'kubefork.dev/v1beta1',
      namespace,
      name,
      { spec: spec as JsonObject },
      {
        manager: 'kubectl',
        contentType: 'application/merge-patch+json',
      },
    ) as unknown as VSConfig;
  }

  vsconfig(namespace: string, name: string): VSConfig | undefined {
    return this.server.store.tryGet(this.#vsconfigs, 'kubefork.dev/v1beta1', namespace, name) as
      | VSConfig
      | undefined;
  }

  /** `reason` of the VSConfig's Ready condition (`status/reason`), for polling. */
  readiness(namespace: string, name: string): string | undefined {
    const vsconfig = this.vsconfig(namespace, name);
    const ready = vsconfig?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready ? `${ready.status}/${ready.reason}` : undefined;
  }

  createService(namespace: string, name: string): void {
    const body = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { ports: [{ port: 80 }] },
    };
    this.server.store.create(this.#services, 'v1', namespace, body, { manager: 'kubectl' });
  }

  /** The host Service and each fork Service, so VSConfigs of these can become Ready. */
  createServices(namespace: string, ...names: string[]): void {
    for (const name of names) this.createService(namespace, name);
  }

  // --- what an operator (or another tool) does to VirtualServices ---

  virtualService(namespace: string, name: string): VirtualService | undefined {
    return this.server.store.tryGet(
      this.#virtualServices,
      'networking.istio.io/v1beta1',
      namespace,
      name,
    ) as VirtualService | undefined;
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

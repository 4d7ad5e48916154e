// A fake cluster for scenario tests: the fake API server, plus what developers and operators do
// to it (straight into its store, as kubectl would through the API), plus controllers started
// against it with the real client-node and short, injected durations.
import type { Controller, ControllerOptions, VirtualService, VSConfig } from '../../src/index.js';
import { startController } from '../../src/index.js';
import type { JsonObject } from './fake-api/json.js';
import type { ResourceType } from './fake-api/resources.js';
import { FakeApiServer, type FakeApiServerOptions, type RequestRecord } from './fake-api/server.js';

export interface CoreEvent {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string; namespace: string };
}

export interface ServiceObject {
  metadata: { name: string; namespace: string };
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
  // The VSConfig scenarios count lists, watches and connections of the VSConfig reconciler alone;
  // tests of Forks turn them on.
  forks: false,
};

export class FakeCluster {
  readonly server: FakeApiServer;
  readonly #controllers = new Set<Controller>();
  readonly #vsconfigs: ResourceType;
  readonly #virtualServices: ResourceType;
  readonly #services: ResourceType;
  readonly #events: ResourceType;

  private constructor(server: FakeApiServer) {
    this.server = server;
    this.#vsconfigs = server.store.type('kubefork.dev', 'v1beta1', 'vsconfigs')!;
    this.#virtualServices = server.store.type('networking.istio.io', 'v1beta1', 'virtualservices')!;
    this.#services = server.store.type('', 'v1', 'services')!;
    this.#events = server.store.type('', 'v1', 'events')!;
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

  async stopController(controller: Controller): Promise<void> {
    this.#controllers.delete(controller);
    await controller.stop();
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

  deleteVSConfig(namespace: string, name: string): void {
    this.server.store.delete(this.#vsconfigs, 'kubefork.dev/v1beta1', namespace, name);
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

  deleteService(namespace: string, name: string): void {
    this.server.store.delete(this.#services, 'v1', namespace, name);
  }

  // --- Forks and what they copy ---

  /** A baseline: a Service `name` selecting `app: name` and a Deployment whose pods carry it. */
  createWorkload(namespace: string, name: string): void {
    const store = this.server.store;
    const services = store.type('', 'v1', 'services')!;
    const deployments = store.type('apps', 'v1', 'deployments')!;
    store.create(
      services,
      'v1',
      namespace,
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      },
      { manager: 'kubectl' },
    );
    store.create(
      deployments,
      'apps/v1',
      namespace,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:1` }] },
          },
        },
      },
      { manager: 'kubectl' },
    );
  }

  /** Creates a Fork, or replaces its spec. */
  applyFork(namespace: string, name: string, spec: Record<string, unknown>): JsonObject {
    const store = this.server.store;
    const forks = store.type('kubefork.dev', 'v1beta1', 'forks')!;
    if (!store.tryGet(forks, 'kubefork.dev/v1beta1', namespace, name)) {
      const body = {
        apiVersion: 'kubefork.dev/v1beta1',
        kind: 'Fork',
        metadata: { name, namespace },
        spec,
      };
      return store.create(forks, 'kubefork.dev/v1beta1', namespace, body as JsonObject, {
        manager: 'kubectl',
      });
    }
    return store.patch(
      forks,
      'kubefork.dev/v1beta1',
      namespace,
      name,
      { spec: spec as JsonObject },
      {
        manager: 'kubectl',
        contentType: 'application/merge-patch+json',
      },
    );
  }

  /** `status/reason` of a Fork's Ready condition, for polling. */
  forkReadiness(namespace: string, name: string): string | undefined {
    const store = this.server.store;
    const fork = store.tryGet(
      store.type('kubefork.dev', 'v1beta1', 'forks')!,
      'kubefork.dev/v1beta1',
      namespace,
      name,
    ) as
      | { status?: { conditions?: { type: string; status: string; reason: string }[] } }
      | undefined;
    const ready = fork?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready ? `${ready.status}/${ready.reason}` : undefined;
  }

  forkExists(namespace: string, name: string): boolean {
    const store = this.server.store;
    return (
      store.tryGet(
        store.type('kubefork.dev', 'v1beta1', 'forks')!,
        'kubefork.dev/v1beta1',
        namespace,
        name,
      ) !== undefined
    );
  }

  deployment(namespace: string, name: string): JsonObject | undefined {
    const store = this.server.store;
    return store.tryGet(store.type('apps', 'v1', 'deployments')!, 'apps/v1', namespace, name);
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

  virtualServices(namespace: string): VirtualService[] {
    return this.server.store.list(this.#virtualServices, 'networking.istio.io/v1beta1', {
      namespace,
    }).items as unknown as VirtualService[];
  }

  /** Route names of a VirtualService, in order (or undefined when it does not exist). */
  routes(namespace: string, name: string): string[] | undefined {
    return this.virtualService(namespace, name)?.spec.http?.map((route) => route.name ?? '?');
  }

  createVirtualService(virtualService: VirtualService, manager = 'helm'): void {
    const namespace = virtualService.metadata.namespace ?? 'default';
    this.server.store.create(
      this.#virtualServices,
      'networking.istio.io/v1beta1',
      namespace,
      virtualService as unknown as JsonObject,
      { manager },
    );
  }

  /** A merge patch, like `kubectl edit` / `kubectl patch --type merge`. */
  patchVirtualService(
    namespace: string,
    name: string,
    patch: JsonObject,
    manager = 'kubectl-edit',
  ): void {
    this.server.store.patch(
      this.#virtualServices,
      'networking.istio.io/v1beta1',
      namespace,
      name,
      patch,
      {
        manager,
        contentType: 'application/merge-patch+json',
      },
    );
  }

  deleteVirtualService(namespace: string, name: string): void {
    this.server.store.delete(this.#virtualServices, 'networking.istio.io/v1beta1', namespace, name);
  }

  /** A write to a resource no controller watches: moves the resourceVersion on, nothing else. */
  writeUnwatched(): void {
    const body = {
      metadata: { generateName: 'unrelated.' },
      reason: 'Test',
      message: 'unrelated write',
    };
    this.server.store.create(this.#events, 'v1', 'default', body, { manager: 'test' });
  }

  events(namespace: string): CoreEvent[] {
    return this.server.store.list(this.#events, 'v1', { namespace })
      .items as unknown as CoreEvent[];
  }

  /** Requests that changed something (every one comes from a controller: tests write directly). */
  writes(match?: (request: RequestRecord) => boolean): RequestRecord[] {
    return this.server.writes(match);
  }

  /** Writes to what the controller manages (VirtualServices, VSConfig status), not leases/events. */
  routingWrites(match?: (request: RequestRecord) => boolean): RequestRecord[] {
    return this.server.writes(
      (r) => (r.plural === 'virtualservices' || r.plural === 'vsconfigs') && (!match || match(r)),
    );
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
  const deadline = performance.now() + 20_000;
  let last = '';
  let since = performance.now();
  for (;;) {
    if (performance.now() > deadline) throw new Error('controller did not settle within 20 s');
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

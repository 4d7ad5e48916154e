// One term of reconciling Forks: informers on Forks, Deployments, Services, the VSConfigs and
// preview VirtualServices Forks make; a work queue of Fork keys (`namespace/name`); workers; a
// periodic resync. Runs beside the VSConfig session, in the same term.
import type { KubeConfig } from '@kubernetes/client-node';
import { FORK_KIND, FORK_LABEL, FORK_OWNER_ANNOTATION } from '../constants.js';
import { isForkObject } from '../fork-plan.js';
import type { Deployment, Fork, Service } from '../fork-types.js';
import type { ObjectMeta, VirtualService, VSConfig } from '../types.js';
import type { KubeApis } from './api.js';
import type { BackoffOptions } from './backoff.js';
import type { EventRecorder } from './events.js';
import {
  DEPLOYMENT_RESOURCE,
  FORK_RESOURCE,
  type ForkReconcileContext,
  type ForkSettings,
  type OwnedKind,
  recentKey,
  reconcileFork,
} from './fork-reconcile.js';
import { objectKey } from './host-index.js';
import { Informer } from './informer.js';
import { describeError, type Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import { RecentWrites } from './recent-writes.js';
import { VIRTUAL_SERVICE_RESOURCE, VSCONFIG_RESOURCE } from './reconcile.js';

export interface ForkSessionOptions {
  kubeConfig: KubeConfig;
  apis: KubeApis;
  namespace: string | undefined;
  settings: ForkSettings;
  resyncMs: number;
  workers: number;
  queue: RateLimiterOptions;
  informerBackoff: BackoffOptions | undefined;
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
}

type Resource = { group: string; version: string; plural: string };

function customPath(resource: Resource, namespace?: string): string {
  const scope = namespace ? `/namespaces/${namespace}` : '';
  return `/apis/${resource.group}/${resource.version}${scope}/${resource.plural}`;
}

/** Everything the Fork planner reads of a Service; the rest is never cached. */
export function shrinkService(service: Service): Service {
  const { metadata = {} as ObjectMeta, spec = {} } = service;
  const kept: ObjectMeta = {};
  for (const field of [
    'name',
    'namespace',
    'uid',
    'resourceVersion',
    'labels',
    'annotations',
    'ownerReferences',
  ] as const) {
    if (metadata[field] !== undefined && metadata[field] !== null)
      (kept as Record<string, unknown>)[field] = metadata[field];
  }
  const shrunk: Service = { metadata: kept, spec: {} };
  if (spec.type !== undefined) shrunk.spec!.type = spec.type;
  if (spec.selector) shrunk.spec!.selector = spec.selector;
  if (spec.ports) {
    shrunk.spec!.ports = spec.ports.map((port) => {
      const copy: Record<string, unknown> = {};
      for (const field of ['name', 'port', 'targetPort', 'protocol', 'appProtocol'] as const) {
        if (port[field] !== undefined && port[field] !== null) copy[field] = port[field];
      }
      return copy as unknown as NonNullable<Service['spec']>['ports'] extends
        | (infer P)[]
        | undefined
        ? P
        : never;
    });
  }
  return shrunk;
}

/** `namespace/name` of the Forks that control `object` (through ownerReferences). */
function ownerKeys(object: { metadata?: ObjectMeta }): string[] {
  const namespace = object.metadata?.namespace ?? '';
  return (object.metadata?.ownerReferences ?? [])
    .filter((ref) => ref.kind === FORK_KIND && ref.controller === true)
    .map((ref) => `${namespace}/${ref.name}`);
}

function forkIdOf(fork: Fork): string {
  return typeof fork.spec?.forkId === 'string' ? fork.spec.forkId : (fork.metadata.name ?? '');
}

export class ForkSession {
  readonly queue: WorkQueue;
  readonly #options: ForkSessionOptions;
  readonly #forks: Informer<Fork>;
  readonly #deployments: Informer<Deployment>;
  readonly #services: Informer<Service>;
  readonly #vsconfigs: Informer<VSConfig>;
  readonly #previews: Informer<VirtualService>;
  readonly #forkIds = new Map<string, string>();
  readonly #context: ForkReconcileContext;
  readonly #stopped = new AbortController();
  #workers: Promise<void>[] = [];
  #resync: NodeJS.Timeout | undefined;
  #synced = false;
  #running: Promise<void> | undefined;

  constructor(options: ForkSessionOptions) {
    this.#options = options;
    this.queue = new WorkQueue(options.queue);
    const { apis, namespace, kubeConfig, logger, metrics } = options;
    const common = { kubeConfig, logger, backoff: options.informerBackoff };
    const onFailure = (name: string) => () => metrics.informerFailures.inc({ informer: name });
    const custom =
      <T>(resource: Resource, scope: string | undefined, labelSelector?: string) =>
      () =>
        (scope
          ? apis.custom.listNamespacedCustomObject({
              ...resource,
              namespace: scope,
              ...(labelSelector ? { labelSelector } : {}),
            })
          : apis.custom.listClusterCustomObject({
              ...resource,
              ...(labelSelector ? { labelSelector } : {}),
            })) as Promise<{
          items: T[];
        }>;
    this.#forks = new Informer<Fork>({
      ...common,
      name: 'forks',
      path: customPath(FORK_RESOURCE, namespace),
      list: custom<Fork>(FORK_RESOURCE, namespace),
      onFailure: onFailure('forks'),
    });
    this.#deployments = new Informer<Deployment>({
      ...common,
      name: 'deployments',
      path: customPath(DEPLOYMENT_RESOURCE, namespace),
      list: custom<Deployment>(DEPLOYMENT_RESOURCE, namespace),
      onFailure: onFailure('deployments'),
    });
    this.#services = new Informer<Service>({
      ...common,
      name: 'fork-services',
      path: namespace ? `/api/v1/namespaces/${namespace}/services` : '/api/v1/services',
      list: () =>
        (namespace
          ? apis.core.listNamespacedService({ namespace })
          : apis.core.listServiceForAllNamespaces()) as unknown as Promise<{ items: Service[] }>,
      onFailure: onFailure('fork-services'),
      transform: shrinkService,
    });
    this.#vsconfigs = new Informer<VSConfig>({
      ...common,
      name: 'fork-vsconfigs',
      path: customPath(VSCONFIG_RESOURCE, namespace),
      labelSelector: FORK_LABEL,
      list: custom<VSConfig>(VSCONFIG_RESOURCE, namespace, FORK_LABEL),
      onFailure: onFailure('fork-vsconfigs'),
    });
    // Previews live in the entry's namespace, which may not be the one the controller manages.
    const previewScope = namespace
      ? (options.settings.preview?.entry.split('/')[0] ?? namespace)
      : undefined;
    this.#previews = new Informer<VirtualService>({
      ...common,
      name: 'fork-previews',
      path: customPath(VIRTUAL_SERVICE_RESOURCE, previewScope),
      labelSelector: FORK_LABEL,
      list: custom<VirtualService>(VIRTUAL_SERVICE_RESOURCE, previewScope, FORK_LABEL),
      onFailure: onFailure('fork-previews'),
    });
    const recent = new RecentWrites<{ metadata: ObjectMeta }>();
    const recentForks = new RecentWrites<Fork>();
    const informerOf = (kind: OwnedKind) =>
      (kind === 'deployments'
        ? this.#deployments
        : kind === 'services'
          ? this.#services
          : kind === 'vsconfigs'
            ? this.#vsconfigs
            : this.#previews) as Informer<{ metadata: ObjectMeta }>;
    this.#context = {
      apis,
      fork: (ns, name) => recentForks.resolve(`${ns}/${name}`, this.#forks.get(name, ns)),
      forksIn: (ns) =>
        this.#forks
          .list(ns)
          .map((fork) => recentForks.resolve(objectKey(fork.metadata), fork))
          .filter((fork): fork is Fork => fork !== undefined),
      servicesIn: (ns) => [...this.#services.list(ns)],
      deploymentsIn: (ns) => [...this.#deployments.list(ns)],
      vsConfigsIn: (ns) => [...this.#vsconfigs.list(ns)],
      previewsOf: (forkKey) =>
        this.#previews
          .list()
          .filter((vs) => vs.metadata.annotations?.[FORK_OWNER_ANNOTATION] === forkKey),
      live: <T>(kind: OwnedKind, ns: string, name: string) =>
        recent.resolve(recentKey(kind, ns, name), informerOf(kind).get(name, ns)) as T | undefined,
      recent: recent as ForkReconcileContext['recent'],
      recentForks,
      shrinkService,
      settings: options.settings,
      metrics,
      events: options.events,
      logger,
      now: () => Date.now(),
    };
    this.#wireEvents(recent, recentForks);
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Forks and copies in the caches, for the gauges. */
  stats(): { forks: number; copies: number } {
    return {
      forks: this.#forks.list().length,
      copies: this.#deployments.list().filter(isForkObject).length,
    };
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    this.queue.shutDown();
    clearInterval(this.#resync);
    await this.#running;
    await Promise.all(this.#workers);
    await Promise.all(this.#informers().map((informer) => informer.stop()));
  }

  #informers() {
    return [
      this.#forks,
      this.#deployments,
      this.#services,
      this.#vsconfigs,
      this.#previews,
    ] as Informer<{
      metadata?: ObjectMeta;
    }>[];
  }

  async #run(): Promise<void> {
    const informers = this.#informers();
    for (const informer of informers) informer.start();
    const stopped = new Promise<void>((resolve) => {
      this.#stopped.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([Promise.all(informers.map((i) => i.whenSynced())), stopped]);
    if (this.#stopped.signal.aborted) return;
    this.#synced = true;
    this.#enqueueAll();
    this.#options.logger.info('fork caches synced; reconciling', {
      forks: this.#forks.list().length,
    });
    for (let i = 0; i < this.#options.workers; i += 1) this.#workers.push(this.#work());
    this.#resync = setInterval(() => this.#enqueueAll(), this.#options.resyncMs);
  }

  async #work(): Promise<void> {
    const { metrics, logger } = this.#options;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await reconcileFork(this.#context, key);
        this.queue.forget(key);
        metrics.forkReconciles.inc({ result: result.wrote ? 'updated' : 'unchanged' });
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        metrics.forkReconciles.inc({ result: 'error' });
        const delayMs = this.queue.addRateLimited(key);
        logger.warn('fork reconcile failed; will retry', {
          fork: key,
          retryInMs: Math.round(delayMs),
          failures: this.queue.failures(key),
          error: describeError(error),
        });
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** Every Fork, and the owner of every preview (a Fork deleted while no controller ran). */
  #enqueueAll(): void {
    for (const fork of this.#forks.list()) this.queue.add(objectKey(fork.metadata));
    for (const preview of this.#previews.list()) {
      const owner = preview.metadata.annotations?.[FORK_OWNER_ANNOTATION];
      if (owner) this.queue.add(owner);
    }
  }

  #enqueueNamespace(namespace: string): void {
    for (const fork of this.#forks.list(namespace)) this.queue.add(objectKey(fork.metadata));
  }

  #wireEvents(
    recent: RecentWrites<{ metadata: ObjectMeta }>,
    recentForks: RecentWrites<Fork>,
  ): void {
    const onFork = (fork: Fork) => {
      const key = objectKey(fork.metadata);
      recentForks.observed(key, fork);
      const id = fork.metadata.deletionTimestamp ? '' : forkIdOf(fork);
      const before = this.#forkIds.get(key);
      this.#forkIds.set(key, id);
      // Another Fork of the namespace may now get the id or a quota slot.
      if (before !== id) this.#enqueueNamespace(fork.metadata.namespace ?? '');
      this.queue.add(key);
    };
    this.#forks.on('add', onFork);
    this.#forks.on('update', onFork);
    this.#forks.on('delete', (fork) => {
      const key = objectKey(fork.metadata);
      recentForks.observedDeletion(key);
      this.#forkIds.delete(key);
      this.#enqueueNamespace(fork.metadata.namespace ?? '');
      this.queue.add(key);
    });

    // A copy concerns its Fork; anything else of the namespace may change every Fork's plan.
    const wire = <T extends { metadata?: ObjectMeta }>(
      kind: OwnedKind,
      informer: Informer<T>,
      baseline: boolean,
    ) => {
      const changed = (object: T, deleted: boolean) => {
        const k = recentKey(kind, object.metadata?.namespace ?? '', object.metadata?.name ?? '');
        if (deleted) recent.observedDeletion(k);
        else recent.observed(k, object as { metadata: ObjectMeta });
        if (kind === 'virtualservices') {
          const owner = object.metadata?.annotations?.[FORK_OWNER_ANNOTATION];
          if (owner) this.queue.add(owner);
          return;
        }
        const owners = ownerKeys(object);
        for (const owner of owners) this.queue.add(owner);
        if (baseline && owners.length === 0 && !isForkObject(object)) {
          this.#enqueueNamespace(object.metadata?.namespace ?? '');
        }
      };
      informer.on('add', (object) => changed(object, false));
      informer.on('update', (object) => changed(object, false));
      informer.on('delete', (object) => changed(object, true));
    };
    wire('deployments', this.#deployments, true);
    wire('services', this.#services, true);
    wire('vsconfigs', this.#vsconfigs, false);
    wire('virtualservices', this.#previews, false);
  }
}

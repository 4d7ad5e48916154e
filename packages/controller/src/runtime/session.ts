// One term of reconciling: informers, work queue, workers and resync, from start to stop. Without
// leader election there is one session for the life of the controller; with it, one per term.
import type { KubeConfig } from '@kubernetes/client-node';
import type { VirtualService, VSConfig } from '../types.js';
import {
  isAdoptableVirtualService,
  isManagedVirtualService,
  virtualServiceHosts,
} from '../virtual-service.js';
import type { KubeApis } from './api.js';
import type { BackoffOptions } from './backoff.js';
import type { EventRecorder } from './events.js';
import { type HostKey, hostKey, MultiIndex, objectKey } from './host-index.js';
import { Informer } from './informer.js';
import { describeError, type Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import { RecentWrites } from './recent-writes.js';
import {
  type ReconcileContext,
  reconcileHost,
  type ServiceRef,
  VIRTUAL_SERVICE_RESOURCE,
  VSCONFIG_RESOURCE,
} from './reconcile.js';

export interface SessionOptions {
  kubeConfig: KubeConfig;
  apis: KubeApis;
  namespace: string | undefined;
  headerAllowList: string[];
  clusterDomain: string;
  resyncMs: number;
  workers: number;
  queue: RateLimiterOptions;
  informerBackoff: BackoffOptions | undefined;
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
}

function customPath(
  resource: { group: string; version: string; plural: string },
  namespace?: string,
) {
  const scope = namespace ? `/namespaces/${namespace}` : '';
  return `/apis/${resource.group}/${resource.version}${scope}/${resource.plural}`;
}

/** `spec.host`, or `''` when it is missing (the planner reports such a VSConfig as Invalid). */
function hostOf(vsconfig: VSConfig): string {
  return typeof vsconfig.spec?.host === 'string' ? vsconfig.spec.host : '';
}

function splitObjectKey(key: string): [name: string, namespace: string] {
  const slash = key.indexOf('/');
  return [key.slice(slash + 1), key.slice(0, slash)];
}

export class Session {
  readonly queue: WorkQueue;
  readonly #options: SessionOptions;
  readonly #vsconfigs: Informer<VSConfig>;
  readonly #virtualServices: Informer<VirtualService>;
  readonly #services: Informer<ServiceRef>;
  readonly #vsconfigHosts = new MultiIndex();
  readonly #vsconfigServices = new MultiIndex();
  readonly #virtualServiceHosts = new MultiIndex();
  readonly #context: ReconcileContext;
  readonly #stopped = new AbortController();
  #workers: Promise<void>[] = [];
  #resync: NodeJS.Timeout | undefined;
  #synced = false;
  #running: Promise<void> | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.queue = new WorkQueue(options.queue);
    const { apis, namespace, kubeConfig, logger, metrics } = options;
    const common = {
      kubeConfig,
      logger,
      backoff: options.informerBackoff,
    };
    const onFailure = (name: string) => () => metrics.informerFailures.inc({ informer: name });
    this.#vsconfigs = new Informer<VSConfig>({
      ...common,
      name: 'vsconfigs',
      path: customPath(VSCONFIG_RESOURCE, namespace),
      list: () =>
        (namespace
          ? apis.custom.listNamespacedCustomObject({ ...VSCONFIG_RESOURCE, namespace })
          : apis.custom.listClusterCustomObject({ ...VSCONFIG_RESOURCE })) as Promise<{
          items: VSConfig[];
        }>,
      onFailure: onFailure('vsconfigs'),
    });
    // Every VirtualService, not only labelled ones: a foreign one for a host blocks it, and an
    // annotation (not selectable) lets kubefork adopt one.
    this.#virtualServices = new Informer<VirtualService>({
      ...common,
      name: 'virtualservices',
      path: customPath(VIRTUAL_SERVICE_RESOURCE, namespace),
      list: () =>
        (namespace
          ? apis.custom.listNamespacedCustomObject({ ...VIRTUAL_SERVICE_RESOURCE, namespace })
          : apis.custom.listClusterCustomObject({ ...VIRTUAL_SERVICE_RESOURCE })) as Promise<{
          items: VirtualService[];
        }>,
      onFailure: onFailure('virtualservices'),
    });
    this.#services = new Informer<ServiceRef>({
      ...common,
      name: 'services',
      path: namespace ? `/api/v1/namespaces/${namespace}/services` : '/api/v1/services',
      list: () =>
        namespace
          ? apis.core.listNamespacedService({ namespace })
          : apis.core.listServiceForAllNamespaces(),
      onFailure: onFailure('services'),
      // Only whether a Service exists matters: cache its identity, not its spec.
      transform: ({ metadata }) => ({
        metadata: {
          name: metadata?.name,
          namespace: metadata?.namespace,
          resourceVersion: metadata?.resourceVersion,
        },
      }),
    });
    this.#wireEvents();
    this.#context = {
      apis,
      vsconfigsOf: (key) => this.#vsconfigsOf(key),
      virtualServicesOf: (key) => this.#virtualServicesOf(key),
      service: (ns, name) => this.#services.get(name, ns),
      recentVirtualServices: new RecentWrites<VirtualService>(),
      recentVSConfigs: new RecentWrites<VSConfig>(),
      converged: new Map(),
      headerAllowList: options.headerAllowList,
      clusterDomain: options.clusterDomain,
      metrics,
      events: options.events,
      logger,
    };
  }

  /** Informers have loaded their first lists and workers run. */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops taking work, lets in-flight reconciles finish, stops the informers. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    this.queue.shutDown();
    clearInterval(this.#resync);
    await this.#running;
    await Promise.all(this.#workers);
    await Promise.all([
      this.#vsconfigs.stop(),
      this.#virtualServices.stop(),
      this.#services.stop(),
    ]);
  }

  async #run(): Promise<void> {
    const informers = [this.#vsconfigs, this.#virtualServices, this.#services];
    for (const informer of informers) informer.start();
    const stopped = new Promise<void>((resolve) => {
      this.#stopped.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([Promise.all(informers.map((i) => i.whenSynced())), stopped]);
    if (this.#stopped.signal.aborted) return;
    this.#synced = true;
    // Everything once at start: this also deletes VirtualServices whose VSConfigs were deleted
    // while no controller ran.
    this.#enqueueAll();
    this.#options.logger.info('caches synced; reconciling', {
      vsconfigs: this.#vsconfigs.list().length,
      virtualServices: this.#virtualServices.list().length,
    });
    for (let i = 0; i < this.#options.workers; i += 1) this.#workers.push(this.#work());
    this.#resync = setInterval(() => this.#enqueueAll(), this.#options.resyncMs);
  }

  async #work(): Promise<void> {
    const { metrics, logger } = this.#options;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const stopTimer = metrics.reconcileDuration.startTimer();
      try {
        const wrote = await reconcileHost(this.#context, key);
        this.queue.forget(key);
        metrics.reconciles.inc({ result: wrote ? 'updated' : 'unchanged' });
      } catch (error) {
        metrics.reconciles.inc({ result: 'error' });
        const delayMs = this.queue.addRateLimited(key);
        logger.warn('reconcile failed; will retry', {
          key,
          retryInMs: Math.round(delayMs),
          failures: this.queue.failures(key),
          error: describeError(error),
        });
      } finally {
        stopTimer();
        this.queue.done(key);
      }
    }
  }

  /** Every host with VSConfigs, or with a VirtualService kubefork manages or may adopt. */
  #enqueueAll(): void {
    for (const key of this.#vsconfigHosts.values()) this.queue.add(key);
    for (const key of this.#virtualServiceHosts.values()) {
      const relevant = this.#virtualServicesOf(key).some(
        (vs) => isManagedVirtualService(vs) || isAdoptableVirtualService(vs),
      );
      if (relevant) this.queue.add(key);
    }
  }

  #enqueue(keys: HostKey[]): void {
    for (const key of keys) this.queue.add(key);
  }

  #wireEvents(): void {
    const { clusterDomain } = this.#options;
    const onVSConfig = (vsconfig: VSConfig) => {
      const key = objectKey(vsconfig.metadata);
      this.#context.recentVSConfigs.observed(key, vsconfig);
      const namespace = vsconfig.metadata.namespace ?? '';
      const host = hostOf(vsconfig);
      const service = typeof vsconfig.spec?.service === 'string' ? vsconfig.spec.service : '';
      this.#vsconfigServices.set(key, [objectKey({ namespace, name: service })]);
      this.#enqueue(this.#vsconfigHosts.set(key, [hostKey(namespace, host)]));
    };
    this.#vsconfigs.on('add', onVSConfig);
    this.#vsconfigs.on('update', onVSConfig);
    this.#vsconfigs.on('delete', (vsconfig) => {
      const key = objectKey(vsconfig.metadata);
      this.#context.recentVSConfigs.observedDeletion(key);
      this.#vsconfigServices.delete(key);
      this.#enqueue(this.#vsconfigHosts.delete(key));
    });

    const onVirtualService = (vs: VirtualService) => {
      this.#context.recentVirtualServices.observed(objectKey(vs.metadata), vs);
      const hosts = virtualServiceHosts(vs, clusterDomain).map((h) => hostKey(h.namespace, h.host));
      this.#enqueue(this.#virtualServiceHosts.set(objectKey(vs.metadata), hosts));
    };
    this.#virtualServices.on('add', onVirtualService);
    this.#virtualServices.on('update', onVirtualService);
    this.#virtualServices.on('delete', (vs) => {
      const key = objectKey(vs.metadata);
      this.#context.recentVirtualServices.observedDeletion(key);
      this.#enqueue(this.#virtualServiceHosts.delete(key));
    });

    // Only whether a Service exists matters (ServiceNotFound), so updates are ignored.
    const onService = (service: ServiceRef) => {
      for (const vsconfig of this.#vsconfigServices.objects(objectKey(service.metadata))) {
        this.#enqueue(this.#vsconfigHosts.valuesOf(vsconfig));
      }
    };
    this.#services.on('add', onService);
    this.#services.on('delete', onService);
  }

  #vsconfigsOf(key: HostKey): VSConfig[] {
    const found: VSConfig[] = [];
    for (const object of this.#vsconfigHosts.objects(key)) {
      const [name, namespace] = splitObjectKey(object);
      const vsconfig = this.#context.recentVSConfigs.resolve(
        object,
        this.#vsconfigs.get(name, namespace),
      );
      // Our last status write may already show a new host the cache has not seen: skip it here,
      // its update event reconciles both hosts.
      if (vsconfig && hostKey(namespace, hostOf(vsconfig)) === key) found.push(vsconfig);
    }
    return found;
  }

  #virtualServicesOf(key: HostKey): VirtualService[] {
    const objects = new Set(this.#virtualServiceHosts.objects(key));
    // Our own VirtualService is named after the host; one we just created may not be cached yet.
    objects.add(key);
    const found: VirtualService[] = [];
    for (const object of objects) {
      const [name, namespace] = splitObjectKey(object);
      const cached = this.#virtualServices.get(name, namespace);
      const vs = this.#context.recentVirtualServices.resolve(object, cached);
      if (!vs) continue;
      const hosts = virtualServiceHosts(vs, this.#options.clusterDomain);
      if (hosts.some((h) => hostKey(h.namespace, h.host) === key)) found.push(vs);
    }
    return found;
  }
}

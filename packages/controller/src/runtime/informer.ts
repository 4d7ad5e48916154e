// A list+watch cache on client-node 1.4's ListWatch, with the guards it lacks:
// - ListWatch gives up on any error other than 410 (it calls the `error` handlers and never
//   restarts): we restart it, after a jittered exponential backoff.
// - On 410 it relists and rewatches at once, forever: a server that keeps answering 410 (or
//   keeps closing watches at once, or keeps failing lists) becomes a tight request loop. Every
//   list and watch waits out the current failure streak first.
// - A stopped ListWatch still starts a watch when a list was in flight (we refuse it), and cannot
//   abort a watch that was still connecting when it stopped (we abort it once connected).
// - Watches ask for bookmarks (so a reconnect resumes instead of relisting) and are ended by the
//   server after `timeoutSeconds`; a watch silent for longer than that is aborted, so a dead
//   connection cannot hang the cache forever.
// - Cached objects lose `metadata.managedFields`, which nothing here reads.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { type BackoffOptions, backoffDelay, sleep } from './backoff.js';
import { describeError, type Logger } from './logger.js';

/**
 * What the cache needs of an object. Looser than client-node's `KubernetesObject`, whose
 * `metadata.creationTimestamp` is a `Date`: custom objects arrive as plain JSON (strings).
 */
export interface CachedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T extends CachedObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. `/apis/kubefork.dev/v1beta1/vsconfigs`. */
  path: string;
  /** Lists the same collection as `path` (the informer adds nothing to it). */
  list: () => Promise<{ metadata?: { resourceVersion?: string }; items: T[] }>;
  labelSelector?: string;
  /** Name for logs and metrics, e.g. `vsconfigs`. */
  name: string;
  logger: Logger;
  /** Delays between restarts while lists or watches keep failing. Default 1 s → 30 s, jittered. */
  backoff?: BackoffOptions;
  /** A watch that lived this long ended normally, not as a failure. Default 5,000 ms. */
  healthyAfterMs?: number;
  /** Server-side watch timeout; each watch picks 1–2× this. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Told about each failed list or watch (for metrics). */
  onFailure?: (error: unknown) => void;
  /** Shrinks each object before it is cached. Default `stripManagedFields`. */
  transform?: (object: T) => T;
}

type Handler<T> = (object: T) => void;

/**
 * The default transform: drops `metadata.managedFields` before an object enters the cache, often
 * the larger part of an object and never read here (controller-runtime's
 * TransformStripManagedFields).
 */
export function stripManagedFields<T extends CachedObject>(object: T): T {
  const metadata = object.metadata as { managedFields?: unknown } | undefined;
  if (metadata && 'managedFields' in metadata) delete metadata.managedFields;
  return object;
}

/** Thrown into ListWatch when it tries to list after `stop()`. */
class StoppedError extends Error {
  override name = 'StoppedError';
}

export class Informer<T extends CachedObject> {
  readonly name: string;
  readonly #options: InformerOptions<T>;
  readonly #listWatch: ListWatch<KubernetesObject>;
  readonly #stopped = new AbortController();
  #failures = 0;
  #synced = false;
  #onSynced!: () => void;
  readonly #whenSynced = new Promise<void>((resolve) => {
    this.#onSynced = resolve;
  });

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.#options = options;
    const watch = new GuardedWatch(options.kubeConfig, this);
    // ListWatch only reads metadata.name/namespace/resourceVersion: any CachedObject will do.
    const list = () => this.#list() as Promise<KubernetesListObject<KubernetesObject>>;
    this.#listWatch = new ListWatch(options.path, watch, list, false, options.labelSelector);
    this.#listWatch.on('error', (error: unknown) => this.#restart(error));
  }

  get synced(): boolean {
    return this.#synced;
  }

  get stopped(): boolean {
    return this.#stopped.signal.aborted;
  }

  /** Resolves once the first list has been loaded into the cache. */
  whenSynced(): Promise<void> {
    return this.#whenSynced;
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.#listWatch.on(event, handler as Handler<KubernetesObject>);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#listWatch.get(name, namespace) as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    return this.#listWatch.list(namespace) as readonly T[];
  }

  /** Starts listing and watching; returns at once (see `whenSynced`). */
  start(): void {
    this.#listWatch.start().catch((error: unknown) => this.#restart(error));
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#listWatch.stop();
  }

  /** Called by GuardedWatch before each watch: waits out failures; false when stopped. */
  async beforeWatch(): Promise<boolean> {
    if (!this.#synced && !this.stopped) {
      // ListWatch calls watch() right after it stored a list: the cache is complete.
      this.#synced = true;
      this.#onSynced();
    }
    await this.#pause();
    return !this.stopped;
  }

  /** Called by GuardedWatch when a watch ends, for whatever reason. */
  watchEnded(livedMs: number, receivedObjects: boolean, error: unknown): void {
    if (this.stopped) return;
    const healthy = livedMs >= (this.#options.healthyAfterMs ?? 5000) || receivedObjects;
    if (healthy) {
      this.#failures = 0;
      return;
    }
    this.#failures += 1;
    this.#options.onFailure?.(error ?? new Error('watch closed at once'));
    this.#options.logger.debug('watch ended early', {
      informer: this.name,
      failures: this.#failures,
      ...(error ? { error: describeError(error) } : {}),
    });
  }

  /** Applied to every object before it enters the cache. */
  readonly transform = (object: T): T => (this.#options.transform ?? stripManagedFields)(object);

  get watchTimeoutSeconds(): number {
    return this.#options.watchTimeoutSeconds ?? 300;
  }

  get #signal(): AbortSignal {
    return this.#stopped.signal;
  }

  async #list(): Promise<{ metadata?: { resourceVersion?: string }; items: T[] }> {
    await this.#pause();
    if (this.stopped) throw new StoppedError('informer stopped');
    try {
      const list = await this.#options.list();
      list.items = list.items.map(this.transform);
      return list;
    } catch (error) {
      this.#failures += 1;
      this.#options.onFailure?.(error);
      throw error;
    }
  }

  /** The first failure is retried at once (a single 410 just means relist); later ones back off. */
  async #pause(): Promise<void> {
    if (this.#failures < 2) return;
    await sleep(backoffDelay(this.#failures - 1, this.#options.backoff), this.#signal);
  }

  /** ListWatch stopped itself after an error: start it again (list and watch wait out the backoff). */
  #restart(error: unknown): void {
    if (this.stopped) return;
    this.#options.logger.warn('list/watch failed; restarting', {
      informer: this.name,
      failures: this.#failures,
      error: describeError(error),
    });
    this.#listWatch.start().catch((next: unknown) => this.#restart(next));
  }
}

/** The Watch that ListWatch drives, with the informer's guards around each connection. */
class GuardedWatch<T extends CachedObject> extends Watch {
  readonly #informer: Informer<T>;

  constructor(kubeConfig: KubeConfig, informer: Informer<T>) {
    super(kubeConfig);
    this.#informer = informer;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (!(await this.#informer.beforeWatch())) {
      // Stopped: hand back an aborted request and never call `done`, so ListWatch stays down.
      const aborted = new AbortController();
      aborted.abort();
      return aborted;
    }
    const timeout = this.#informer.watchTimeoutSeconds;
    const timeoutSeconds = Math.round(timeout * (1 + Math.random()));
    const started = performance.now();
    let receivedObjects = false;
    let watchdog: NodeJS.Timeout | undefined;
    let request: AbortController | undefined;
    // No event or bookmark for longer than the server-side timeout: the connection is dead.
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => request?.abort(), (timeoutSeconds + 30) * 1000);
      watchdog.unref();
    };
    arm();
    request = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds },
      (phase, object, raw) => {
        arm();
        let cached = object;
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          receivedObjects = true;
          cached = this.#informer.transform(object as T);
        }
        callback(phase, cached, raw);
      },
      (error: unknown) => {
        clearTimeout(watchdog);
        this.#informer.watchEnded(performance.now() - started, receivedObjects, error);
        done(error);
      },
    );
    // Stopped while the watch was connecting: ListWatch.stop() had no request to abort yet, and
    // an open watch would keep the process alive.
    if (this.#informer.stopped) request.abort();
    return request;
  }
}

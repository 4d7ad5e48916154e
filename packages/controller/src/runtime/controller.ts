// startController: the running controller. Wires the API clients, metrics and health endpoints,
// optional leader election, and one reconcile session per term (or one for good without election).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_HEADER_ALLOW_LIST,
  DEFAULT_MAX_FORK_TTL,
  DEFAULT_MAX_FORKS_PER_NAMESPACE,
} from '../constants.js';
import { checkKnownOptions, invalidOption } from '../errors.js';
import { readForkSettings } from '../fork-plan.js';
import { parseDuration } from '../fork-ttl.js';
import type { PreviewOptions } from '../fork-types.js';
import { planHost } from '../plan.js';
import { DNS_1123_LABEL } from '../validate.js';
import { createApis } from './api.js';
import type { BackoffOptions } from './backoff.js';
import { EventRecorder } from './events.js';
import type { ForkSettings } from './fork-reconcile.js';
import { ForkSession } from './fork-session.js';
import { type HealthServer, startHealthServer } from './health-server.js';
import { loadKubeConfig, ownNamespace } from './kube-config.js';
import { checkLeaderElectionOptions, type LeaderElectionOptions, LeaderElector } from './leader.js';
import { createJsonLogger, type Logger } from './logger.js';
import { ControllerMetrics } from './metrics.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import { Session } from './session.js';

/** Options of `startController`. */
export interface ControllerOptions {
  /** Cluster access. Default: `KUBECONFIG`, `~/.kube/config`, or the in-cluster service account. */
  kubeConfig?: KubeConfig;
  /** Watch and manage only this namespace. Default: all namespaces. */
  namespace?: string;
  /** Header names VSConfigs may use. Default `['x-fork-identifier']`. */
  headerAllowList?: string[];
  /** Every host is reconciled again this often, repairing drift missed by watches. Default 300. */
  resyncSeconds?: number;
  /** Port of `/metrics`, `/healthz`, `/readyz`; `0` picks a free one. Default 8080. */
  metricsPort?: number;
  /** Address the metrics port binds to. Default `0.0.0.0`. */
  metricsHost?: string;
  /**
   * Run as one of several replicas: only the holder of a coordination.k8s.io Lease reconciles.
   * `true` uses the defaults (Lease `kubefork-controller` in the pod's namespace, 15 s / 10 s / 2 s);
   * an object overrides them. Default `false`.
   */
  leaderElection?: boolean | LeaderElectionOptions;
  /** Where the controller logs. Default: JSON lines on stderr, level `info`. */
  logger?: Logger;
  /** DNS suffix of the cluster. Default `cluster.local`. */
  clusterDomain?: string;
  /** Hosts reconciled at the same time. Default 4. */
  workers?: number;
  /** Timeout of each API request (watches excepted). Default 30,000 ms. */
  requestTimeoutMs?: number;
  /** Retry backoff of failed reconciles. Default 5 ms → 1,000 s per host, 10 qps / burst 100 overall. */
  retry?: RateLimiterOptions;
  /** Backoff of failing lists and watches. Default 1 s → 30 s, jittered. */
  informerBackoff?: BackoffOptions;
  /** Also export Node.js process metrics (`process_*`, `nodejs_*`). Default true. */
  processMetrics?: boolean;
  /** Reconcile Forks (needs the Fork CRD installed). Default true. */
  forks?: boolean;
  /** Longest TTL a Fork gets, whatever its `spec.ttl` says (`8h`, `7d`, …). Default `168h`. */
  maxForkTtl?: string;
  /** Forks per namespace; younger ones get `QuotaExceeded`. Default 50. */
  maxForksPerNamespace?: number;
  /** Images a Fork may put into a copy, by prefix; others get `ImageNotAllowed`. Default: any. */
  allowedImagePrefixes?: string[];
  /** Preview URLs: one gateway-bound VirtualService per Fork. Default: none. */
  preview?: PreviewOptions;
}

/** A running controller. */
export interface Controller {
  /** Stops reconciling (in-flight reconciles finish), releases the lease, closes the metrics port. */
  stop(): Promise<void>;
  /** The bound metrics port. */
  readonly metricsPort: number;
  /** Identity in the Lease and in events. */
  readonly identity: string;
  /** Whether this instance reconciles now (always, without leader election, once started). */
  isLeader(): boolean;
  /** What `/readyz` answers. */
  isReady(): boolean;
}

interface Settings {
  namespace: string | undefined;
  headerAllowList: string[];
  clusterDomain: string;
  resyncMs: number;
  metricsPort: number;
  workers: number;
  requestTimeoutMs: number;
  forks: ForkSettings | undefined;
}

const KNOWN_OPTIONS = [
  'kubeConfig',
  'namespace',
  'headerAllowList',
  'resyncSeconds',
  'metricsPort',
  'metricsHost',
  'leaderElection',
  'logger',
  'clusterDomain',
  'workers',
  'requestTimeoutMs',
  'retry',
  'informerBackoff',
  'processMetrics',
  'forks',
  'maxForkTtl',
  'maxForksPerNamespace',
  'allowedImagePrefixes',
  'preview',
];

function readOptions(options: ControllerOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('startController options', options, 'an object');
  }
  checkKnownOptions(options, KNOWN_OPTIONS);
  const {
    namespace,
    headerAllowList = [...DEFAULT_HEADER_ALLOW_LIST],
    clusterDomain = DEFAULT_CLUSTER_DOMAIN,
    resyncSeconds = 300,
    metricsPort = 8080,
    workers = 4,
    requestTimeoutMs = 30_000,
    leaderElection = false,
  } = options;
  if (
    namespace !== undefined &&
    (typeof namespace !== 'string' || !DNS_1123_LABEL.test(namespace))
  ) {
    throw invalidOption('namespace', namespace, 'a namespace name');
  }
  // The planner owns the rules for header names and cluster domains: let it judge them now.
  planHost({ namespace: 'default', host: 'probe', vsconfigs: [], headerAllowList, clusterDomain });
  if (
    typeof resyncSeconds !== 'number' ||
    !(resyncSeconds > 0) ||
    !Number.isFinite(resyncSeconds)
  ) {
    throw invalidOption('resyncSeconds', resyncSeconds, 'a positive number of seconds');
  }
  if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65_535) {
    throw invalidOption('metricsPort', metricsPort, 'a port number (0–65535)');
  }
  if (!Number.isInteger(workers) || workers < 1)
    throw invalidOption('workers', workers, 'a positive integer');
  if (typeof requestTimeoutMs !== 'number' || !(requestTimeoutMs > 0)) {
    throw invalidOption('requestTimeoutMs', requestTimeoutMs, 'a positive number of milliseconds');
  }
  if (
    typeof leaderElection !== 'boolean' &&
    (typeof leaderElection !== 'object' || leaderElection === null)
  ) {
    throw invalidOption('leaderElection', leaderElection, 'a boolean or leader election options');
  }
  if (typeof leaderElection === 'object') checkLeaderElectionOptions(leaderElection);
  const {
    forks = true,
    maxForkTtl = DEFAULT_MAX_FORK_TTL,
    maxForksPerNamespace = DEFAULT_MAX_FORKS_PER_NAMESPACE,
    allowedImagePrefixes = [],
    preview,
  } = options;
  if (typeof forks !== 'boolean') throw invalidOption('forks', forks, 'a boolean');
  const maxTtlMs = parseDuration(maxForkTtl);
  if (maxTtlMs === undefined) {
    throw invalidOption(
      'maxForkTtl',
      maxForkTtl,
      'a duration such as "168h" or "7d", longer than zero',
    );
  }
  // The planner owns the rules for these: let it judge them now.
  const forkSettings = readForkSettings({
    allowedImagePrefixes,
    maxForksPerNamespace,
    clusterDomain,
    ...(preview === undefined ? {} : { preview }),
  });
  return {
    namespace,
    headerAllowList: headerAllowList.map((name) => name.toLowerCase()),
    clusterDomain,
    resyncMs: resyncSeconds * 1000,
    metricsPort,
    workers,
    requestTimeoutMs,
    forks: forks
      ? {
          allowedImagePrefixes: forkSettings.allowedImagePrefixes,
          maxForksPerNamespace: forkSettings.maxForks,
          maxTtlMs,
          preview: forkSettings.preview,
          clusterDomain,
        }
      : undefined,
  };
}

/**
 * Starts the controller: watches VSConfigs, VirtualServices and Services, and keeps each host's
 * VirtualService equal to its plan (see `planHost`); and, unless `forks: false`, watches Forks,
 * Deployments and Services and keeps each Fork's copies, Services, VSConfigs and preview
 * VirtualService equal to its plan (see `planFork`), deleting Forks whose TTL ran out. With
 * status, events, metrics and optional leader election. Resolves once the metrics port listens and reconciling (or campaigning for the
 * lease) has begun; caches sync in the background (`/readyz` turns ready).
 *
 * @example
 * const controller = await startController({ namespace: 'shop', leaderElection: true });
 * process.once('SIGTERM', () => void controller.stop());
 */
export async function startController(options: ControllerOptions = {}): Promise<Controller> {
  const settings = readOptions(options);
  const logger = options.logger ?? createJsonLogger();
  const kubeConfig = options.kubeConfig ?? loadKubeConfig();
  const apis = createApis(kubeConfig, settings.requestTimeoutMs);
  const election =
    options.leaderElection === true
      ? {}
      : options.leaderElection === false
        ? undefined
        : options.leaderElection;
  const identity = election?.identity ?? `${hostname()}_${randomUUID()}`;

  let session: Session | undefined;
  let forkSession: ForkSession | undefined;
  let stopping = false;
  const metrics = new ControllerMetrics({
    queueDepth: () => (session?.queue.depth ?? 0) + (forkSession?.queue.depth ?? 0),
    forkStats: () => forkSession?.stats() ?? { forks: 0, copies: 0 },
    ...(options.processMetrics === undefined ? {} : { processMetrics: options.processMetrics }),
  });
  const events = new EventRecorder(apis.core, logger, identity, () =>
    metrics.apiWrites.inc({ resource: 'events', verb: 'create' }),
  );

  const beginTerm = () => {
    session = new Session({
      kubeConfig,
      apis,
      namespace: settings.namespace,
      headerAllowList: settings.headerAllowList,
      clusterDomain: settings.clusterDomain,
      resyncMs: settings.resyncMs,
      workers: settings.workers,
      queue: options.retry ?? {},
      informerBackoff: options.informerBackoff,
      logger,
      metrics,
      events,
    });
    if (settings.forks) {
      forkSession = new ForkSession({
        kubeConfig,
        apis,
        namespace: settings.namespace,
        settings: settings.forks,
        resyncMs: settings.resyncMs,
        workers: settings.workers,
        queue: options.retry ?? {},
        informerBackoff: options.informerBackoff,
        logger,
        metrics,
        events,
      });
    }
    metrics.leader.set(1);
    session.start();
    forkSession?.start();
  };
  const endTerm = async () => {
    const ending = session;
    const endingForks = forkSession;
    session = undefined;
    forkSession = undefined;
    metrics.leader.set(0);
    await Promise.all([ending?.stop(), endingForks?.stop()]);
  };
  const synced = () =>
    session?.synced === true && (forkSession === undefined || forkSession.synced);

  let elector: LeaderElector | undefined;
  const health: HealthServer = await startHealthServer({
    port: settings.metricsPort,
    ...(options.metricsHost ? { host: options.metricsHost } : {}),
    registry: metrics.registry,
    healthy: () => !stopping,
    // A standby is ready: it is doing its job (waiting for the lease).
    ready: () => !stopping && (elector?.isLeader === false || synced()),
  });

  if (election) {
    elector = new LeaderElector(
      apis.coordination,
      {
        ...election,
        identity,
        leaseNamespace:
          election.leaseNamespace ?? ownNamespace() ?? settings.namespace ?? 'default',
      },
      { onStartedLeading: beginTerm, onStoppedLeading: endTerm },
      logger,
    );
    elector.start();
  } else {
    beginTerm();
  }
  logger.info('controller started', {
    identity,
    namespace: settings.namespace ?? '(all)',
    leaderElection: election !== undefined,
    metricsPort: health.port,
    cluster: kubeConfig.getCurrentCluster()?.server,
  });

  let stopped: Promise<void> | undefined;
  return {
    metricsPort: health.port,
    identity,
    isLeader: () => session !== undefined,
    isReady: () => !stopping && (elector?.isLeader === false || synced()),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (elector) await elector.stop();
        await endTerm();
        apis.close();
        await health.close();
        logger.info('controller stopped', { identity });
      })();
      return stopped;
    },
  };
}

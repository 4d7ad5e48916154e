// The controller's Prometheus metrics, on a registry of its own (never prom-client's global one),
// so two controllers in one process, or an application that embeds one, do not collide.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** `result` label of `kubefork_reconcile_total`. */
export type ReconcileResult = 'unchanged' | 'updated' | 'error';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles: Counter<'result'>;
  readonly reconcileDuration: Histogram;
  readonly driftCorrections: Counter;
  readonly apiWrites: Counter<'resource' | 'verb'>;
  readonly informerFailures: Counter<'informer'>;
  readonly leader: Gauge;
  readonly forkReconciles: Counter<'result'>;
  readonly forkExpirations: Counter;

  constructor(options: {
    queueDepth: () => number;
    processMetrics?: boolean;
    /** Forks and copied Deployments in the caches (zero while not leading). */
    forkStats?: () => { forks: number; copies: number };
  }) {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'kubefork_reconcile_total',
      help: 'Reconciles of one (namespace, host), by result: unchanged (no write), updated, error.',
      labelNames: ['result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'kubefork_reconcile_duration_seconds',
      help: 'Time to reconcile one (namespace, host), API calls included.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'kubefork_queue_depth',
      help: 'Hosts waiting for a reconcile worker.',
      registers,
      collect() {
        this.set(options.queueDepth());
      },
    });
    this.driftCorrections = new Counter({
      name: 'kubefork_drift_corrections_total',
      help: 'Managed objects (VirtualServices, Fork copies) restored after someone else edited or deleted them.',
      registers,
    });
    this.apiWrites = new Counter({
      name: 'kubefork_api_writes_total',
      help: 'Writes the controller sent to the API server, by resource and verb.',
      labelNames: ['resource', 'verb'],
      registers,
    });
    this.informerFailures = new Counter({
      name: 'kubefork_informer_failures_total',
      help: 'Lists or watches that failed or ended at once, by informer.',
      labelNames: ['informer'],
      registers,
    });
    this.leader = new Gauge({
      name: 'kubefork_leader',
      help: '1 while this instance reconciles (holds the lease, or runs without leader election).',
      registers,
    });
    this.forkReconciles = new Counter({
      name: 'kubefork_fork_reconcile_total',
      help: 'Reconciles of one Fork, by result: unchanged (no write), updated, error.',
      labelNames: ['result'],
      registers,
    });
    this.forkExpirations = new Counter({
      name: 'kubefork_fork_expirations_total',
      help: 'Forks the controller deleted because their TTL ran out.',
      registers,
    });
    const forkStats = options.forkStats ?? (() => ({ forks: 0, copies: 0 }));
    new Gauge({
      name: 'kubefork_forks',
      help: 'Forks the controller knows of.',
      registers,
      collect() {
        this.set(forkStats().forks);
      },
    });
    new Gauge({
      name: 'kubefork_fork_copies',
      help: 'Deployments copied for Forks.',
      registers,
      collect() {
        this.set(forkStats().copies);
      },
    });
    for (const result of ['unchanged', 'updated', 'error'] as const) {
      this.reconciles.inc({ result }, 0);
      this.forkReconciles.inc({ result }, 0);
    }
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}

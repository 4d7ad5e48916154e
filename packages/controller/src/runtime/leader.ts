// Lease-based leader election, after client-go's leaderelection package: candidates try to take
// or renew a coordination.k8s.io/v1 Lease every `retryPeriod`; a lease is free when its holder
// is empty or has not renewed for `leaseDuration` (measured on our own monotonic clock from when
// we last saw the record change, so clock skew between nodes does not matter); a leader that
// cannot renew within `renewDeadline` steps down before anyone else may take over. Defaults
// 15 s / 10 s / 2 s, as in client-go and kube-controller-manager.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { checkKnownOptions, invalidOption } from '../errors.js';
import { DNS_1123_LABEL, DNS_1123_SUBDOMAIN } from '../validate.js';
import type { KubeApis } from './api.js';
import { statusCode } from './api-status.js';
import { sleep } from './backoff.js';
import { describeError, type Logger } from './logger.js';

export interface LeaderElectionOptions {
  /** Lease name. Default `kubefork-controller`. */
  leaseName?: string;
  /** Lease namespace. Default: the controller's own namespace (in-cluster), else `default`. */
  leaseNamespace?: string;
  /** This candidate's identity. Default `<hostname>_<uuid>` (the pod name in a cluster). */
  identity?: string;
  /** Default 15 s. Whole seconds: the Lease stores seconds. */
  leaseDurationSeconds?: number;
  /** Default 10,000 ms; must be shorter than the lease duration. */
  renewDeadlineMs?: number;
  /** Default 2,000 ms; must be shorter than the renew deadline. */
  retryPeriodMs?: number;
}

const LEADER_OPTIONS = [
  'leaseName',
  'leaseNamespace',
  'identity',
  'leaseDurationSeconds',
  'renewDeadlineMs',
  'retryPeriodMs',
];

/**
 * Checks leader election options with client-go's rules (lease duration > renew deadline >
 * retry period × 1.2, all positive), so a replica set cannot end up with two leaders because
 * of a setting. Throws a `TypeError` naming the option and the value.
 */
export function checkLeaderElectionOptions(options: LeaderElectionOptions): void {
  checkKnownOptions(options, LEADER_OPTIONS, 'leaderElection.');
  const {
    leaseName = 'kubefork-controller',
    leaseNamespace,
    identity,
    leaseDurationSeconds = 15,
    renewDeadlineMs = 10_000,
    retryPeriodMs = 2000,
  } = options;
  if (typeof leaseName !== 'string' || !DNS_1123_SUBDOMAIN.test(leaseName)) {
    throw invalidOption('leaderElection.leaseName', leaseName, 'a Lease name (DNS-1123 subdomain)');
  }
  if (
    leaseNamespace !== undefined &&
    (typeof leaseNamespace !== 'string' || !DNS_1123_LABEL.test(leaseNamespace))
  ) {
    throw invalidOption('leaderElection.leaseNamespace', leaseNamespace, 'a namespace name');
  }
  if (identity !== undefined && (typeof identity !== 'string' || identity === '')) {
    throw invalidOption('leaderElection.identity', identity, 'a non-empty string');
  }
  if (!Number.isInteger(leaseDurationSeconds) || leaseDurationSeconds < 1) {
    throw invalidOption(
      'leaderElection.leaseDurationSeconds',
      leaseDurationSeconds,
      'a positive whole number of seconds',
    );
  }
  if (
    typeof renewDeadlineMs !== 'number' ||
    !(renewDeadlineMs > 0) ||
    renewDeadlineMs >= leaseDurationSeconds * 1000
  ) {
    throw invalidOption(
      'leaderElection.renewDeadlineMs',
      renewDeadlineMs,
      `a positive number of milliseconds below the lease duration (${leaseDurationSeconds * 1000})`,
    );
  }
  if (
    typeof retryPeriodMs !== 'number' ||
    !(retryPeriodMs > 0) ||
    retryPeriodMs * 1.2 >= renewDeadlineMs
  ) {
    throw invalidOption(
      'leaderElection.retryPeriodMs',
      retryPeriodMs,
      `a positive number of milliseconds below renewDeadlineMs ÷ 1.2 (${Math.floor(renewDeadlineMs / 1.2)})`,
    );
  }
}

export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  /** Awaited before the lease is released or retaken: stop writing here. */
  onStoppedLeading(): void | Promise<void>;
}

interface Observed {
  key: string;
  at: number;
}

export class LeaderElector {
  readonly identity: string;
  readonly #api: KubeApis['coordination'];
  readonly #name: string;
  readonly #namespace: string;
  readonly #leaseSeconds: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  readonly #logger: Logger;
  readonly #callbacks: LeaderCallbacks;
  readonly #stopped = new AbortController();
  #leading = false;
  #holder: string | undefined;
  #observed: Observed | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    api: KubeApis['coordination'],
    options: LeaderElectionOptions & { leaseNamespace: string },
    callbacks: LeaderCallbacks,
    logger: Logger,
  ) {
    this.#api = api;
    this.#name = options.leaseName ?? 'kubefork-controller';
    this.#namespace = options.leaseNamespace;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.#leaseSeconds = options.leaseDurationSeconds ?? 15;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryMs = options.retryPeriodMs ?? 2000;
    this.#callbacks = callbacks;
    this.#logger = logger;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops campaigning; a leader stops leading (callback awaited), then releases the lease. */
  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
    if (!this.#leading) return;
    this.#leading = false;
    await this.#callbacks.onStoppedLeading();
    await this.#release();
  }

  async #run(): Promise<void> {
    const signal = this.#stopped.signal;
    let lastRenew = 0;
    while (!signal.aborted) {
      if (!this.#leading) {
        if (await this.#tryAcquireOrRenew()) {
          if (signal.aborted) break;
          this.#leading = true;
          lastRenew = performance.now();
          this.#logger.info('became leader', { lease: this.#leaseRef(), identity: this.identity });
          await this.#callbacks.onStartedLeading();
          continue;
        }
        // client-go waits retryPeriod × (1 + 1.2 × random) between acquire attempts.
        await sleep(this.#retryMs * (1 + 1.2 * Math.random()), signal);
        continue;
      }
      await sleep(this.#retryMs, signal);
      if (signal.aborted) break;
      const renewed = await this.#tryAcquireOrRenew();
      if (signal.aborted) break;
      if (renewed) {
        lastRenew = performance.now();
        continue;
      }
      const heldByOther = this.#holder !== undefined && this.#holder !== this.identity;
      if (heldByOther || performance.now() - lastRenew >= this.#renewDeadlineMs) {
        this.#leading = false;
        this.#logger.warn('lost leadership', { lease: this.#leaseRef(), identity: this.identity });
        await this.#callbacks.onStoppedLeading();
      }
    }
  }

  #leaseRef(): string {
    return `${this.#namespace}/${this.#name}`;
  }

  /** One attempt, bounded by the renew deadline so a hung request cannot keep a stale leader. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.#renewDeadlineMs);
    });
    try {
      return await Promise.race([this.#attempt(), deadline]);
    } catch (error) {
      this.#logger.warn('lease update failed', {
        lease: this.#leaseRef(),
        error: describeError(error),
      });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async #attempt(): Promise<boolean> {
    const now = new V1MicroTime();
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace });
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
      return this.#create(now);
    }
    const spec = lease.spec ?? {};
    this.#observe(lease);
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? this.#leaseSeconds) * 1000;
    const expired = performance.now() - this.#observed!.at >= durationMs;
    if (holder !== '' && holder !== this.identity && !expired) return false;

    const takingOver = holder !== this.identity;
    lease.spec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.#leaseSeconds,
      renewTime: now,
      ...(takingOver
        ? {
            acquireTime: now,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === '' ? 0 : 1),
          }
        : {}),
    };
    try {
      const updated = await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: lease,
      });
      this.#observe(updated);
      return true;
    } catch (error) {
      if (statusCode(error) === 409) return false;
      throw error;
    }
  }

  async #create(now: V1MicroTime): Promise<boolean> {
    try {
      const created = await this.#api.createNamespacedLease({
        namespace: this.#namespace,
        body: {
          metadata: { name: this.#name, namespace: this.#namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.#leaseSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        },
      });
      this.#observe(created);
      return true;
    } catch (error) {
      if (statusCode(error) === 409) return false;
      throw error;
    }
  }

  /** Remembers when the record last changed, on our clock. */
  #observe(lease: V1Lease): void {
    const spec = lease.spec ?? {};
    this.#holder = spec.holderIdentity ?? '';
    const key = JSON.stringify([
      spec.holderIdentity,
      String(spec.renewTime),
      lease.metadata?.resourceVersion,
    ]);
    if (this.#observed?.key !== key) this.#observed = { key, at: performance.now() };
  }

  /** Hands the lease back (empty holder, 1 s duration) so a standby takes over at once. */
  async #release(): Promise<void> {
    try {
      const lease = await this.#api.readNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
      });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = new V1MicroTime();
      lease.spec = {
        ...lease.spec,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: now,
        acquireTime: now,
      };
      await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.#namespace,
        body: lease,
      });
      this.#logger.info('released leadership', {
        lease: this.#leaseRef(),
        identity: this.identity,
      });
    } catch (error) {
      this.#logger.warn('could not release the lease', {
        lease: this.#leaseRef(),
        error: describeError(error),
      });
    }
  }
}

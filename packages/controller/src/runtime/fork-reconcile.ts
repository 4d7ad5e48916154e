// One reconcile of one Fork: read the caches, plan (planFork), and write only what differs.
//   1. A Fork gone or being deleted: delete its preview VirtualService (the garbage collector
//      removes everything else through ownerReferences). A Fork past its deadline: delete it.
//   2. Copies, Services, VSConfigs and the preview VirtualService: server-side apply
//      (fieldManager `kubefork`, force) when the live object lacks the applied-hash of the plan
//      or differs from it; objects of the Fork the plan no longer wants are deleted.
//   3. Status through /status, only when it changed; a Warning event when Ready turns False.
// Returns when to look again (the deadline), so expiry needs no watch event.
import { isDeepStrictEqual } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  APPLIED_HASH_ANNOTATION,
  FORK_API_VERSION,
  FORK_KIND,
  FORK_OWNER_ANNOTATION,
} from '../constants.js';
import { planFork } from '../fork-plan.js';
import { forkDeadline } from '../fork-ttl.js';
import type { Deployment, Fork, PreviewOptions, Service } from '../fork-types.js';
import type { ObjectMeta, VirtualService, VSConfig } from '../types.js';
import type { KubeApis } from './api.js';
import { statusCode } from './api-status.js';
import type { EventRecorder } from './events.js';
import { desiredForkStatus, forkStatusChanged, forkStatusPatch } from './fork-status.js';
import { objectKey } from './host-index.js';
import { stripManagedFields } from './informer.js';
import type { Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import type { RecentWrites } from './recent-writes.js';
import {
  FIELD_MANAGER,
  groupVersion,
  VIRTUAL_SERVICE_RESOURCE,
  VSCONFIG_RESOURCE,
} from './reconcile.js';
import { readyCondition } from './status.js';

const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const FORK_RESOURCE = { ...groupVersion(FORK_API_VERSION), plural: 'forks' };
export const DEPLOYMENT_RESOURCE = { group: 'apps', version: 'v1', plural: 'deployments' };

/** Longest single wait for a deadline (setTimeout's limit is ~24.8 days). */
const MAX_WAIT_MS = 86_400_000;

export interface ForkSettings {
  allowedImagePrefixes: string[];
  maxForksPerNamespace: number;
  maxTtlMs: number;
  preview: PreviewOptions | undefined;
  clusterDomain: string;
}

/** Something a Fork makes, in the shape the caches keep. */
type Owned = { metadata: ObjectMeta; [field: string]: unknown };

export type OwnedKind = 'deployments' | 'services' | 'vsconfigs' | 'virtualservices';

/** What a Fork reconcile reads and writes through; owned by the Fork session. */
export interface ForkReconcileContext {
  apis: KubeApis;
  fork(namespace: string, name: string): Fork | undefined;
  forksIn(namespace: string): Fork[];
  servicesIn(namespace: string): Service[];
  deploymentsIn(namespace: string): Deployment[];
  /** VSConfigs made by Forks in the namespace. */
  vsConfigsIn(namespace: string): VSConfig[];
  /** Preview VirtualServices whose owner annotation is `forkKey`. */
  previewsOf(forkKey: string): VirtualService[];
  /** The live object of `kind`, newer than the cache when we just wrote it. */
  live<T extends Owned>(kind: OwnedKind, namespace: string, name: string): T | undefined;
  recent: RecentWrites<Owned>;
  recentForks: RecentWrites<Fork>;
  /** Shrinks a Service as the Service cache does. */
  shrinkService(service: Service): Service;
  settings: ForkSettings;
  metrics: ControllerMetrics;
  events: EventRecorder;
  logger: Logger;
  now(): number;
}

export interface ForkReconcileResult {
  wrote: boolean;
  /** Reconcile this Fork again after this long (its deadline). */
  requeueAfterMs?: number;
}

export function recentKey(kind: OwnedKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Whether every field of `wanted` is in `live` with the same value; lists must match in length. */
export function contains(live: unknown, wanted: unknown): boolean {
  if (wanted === null || typeof wanted !== 'object') return live === wanted;
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(live) &&
      live.length === wanted.length &&
      wanted.every((item, i) => contains(live[i], item))
    );
  }
  if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
  return Object.entries(wanted).every(([key, value]) =>
    contains((live as Record<string, unknown>)[key], value),
  );
}

function hashOf(object: { metadata?: ObjectMeta } | undefined): string | undefined {
  return object?.metadata?.annotations?.[APPLIED_HASH_ANNOTATION];
}

/** Labels of a copy's pods must be exactly ours: a label added by hand could join a baseline Service. */
function podLabels(object: unknown): unknown {
  return (object as Deployment | undefined)?.spec?.template?.metadata?.labels ?? null;
}

function differs(kind: OwnedKind, live: Owned | undefined, desired: Owned): boolean {
  if (!live) return true;
  if (hashOf(live) !== hashOf(desired)) return true;
  if (kind === 'deployments' && !isDeepStrictEqual(podLabels(live), podLabels(desired)))
    return true;
  // apiVersion and kind are left out: list responses of built-in types omit them on items.
  const { metadata, apiVersion: _apiVersion, kind: _kind, ...rest } = desired;
  const wantedMetadata = {
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    ownerReferences: metadata.ownerReferences ?? [],
  };
  if (!metadata.ownerReferences)
    delete (wantedMetadata as Partial<typeof wantedMetadata>).ownerReferences;
  return !contains(live, rest) || !contains(live.metadata, wantedMetadata);
}

function isOwnedBy(object: Owned, fork: Fork): boolean {
  return (object.metadata.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.uid === fork.metadata.uid && ref.kind === FORK_KIND,
  );
}

async function apply(
  context: ForkReconcileContext,
  kind: OwnedKind,
  desired: Owned,
  fork: Fork,
): Promise<boolean> {
  const { apis, metrics } = context;
  const namespace = desired.metadata.namespace ?? '';
  const name = desired.metadata.name ?? '';
  const live = context.live(kind, namespace, name);
  if (!differs(kind, live, desired)) return false;
  const previously = (fork.status?.services ?? []).some(
    (s) => s.deployment === name || s.service === name || s.vsConfig === name,
  );
  if (
    (live && hashOf(live) === hashOf(desired)) ||
    (!live && previously && kind !== 'virtualservices')
  ) {
    // The plan did not change, yet the object did: someone edited or deleted it.
    metrics.driftCorrections.inc();
    context.logger.info('restoring drifted fork object', { kind, object: `${namespace}/${name}` });
    void context.events.record(
      { apiVersion: FORK_API_VERSION, kind: FORK_KIND, metadata: fork.metadata },
      'Normal',
      'DriftCorrected',
      `${kind} ${name} was ${live ? 'changed' : 'deleted'} by someone else; kubefork restored it.`,
    );
  }
  metrics.apiWrites.inc({ resource: kind, verb: 'apply' });
  const common = { namespace, name, body: desired, fieldManager: FIELD_MANAGER, force: true };
  let written: Owned;
  if (kind === 'services') {
    written = context.shrinkService(
      (await apis.core.patchNamespacedService(common, applyPatch)) as unknown as Service,
    ) as Owned;
  } else {
    const resource =
      kind === 'deployments'
        ? DEPLOYMENT_RESOURCE
        : kind === 'vsconfigs'
          ? VSCONFIG_RESOURCE
          : VIRTUAL_SERVICE_RESOURCE;
    written = stripManagedFields(
      (await apis.custom.patchNamespacedCustomObject(
        { ...resource, ...common },
        applyPatch,
      )) as Owned,
    );
  }
  context.recent.wrote(recentKey(kind, namespace, name), written);
  context.logger.debug('applied fork object', { kind, object: `${namespace}/${name}` });
  return true;
}

async function remove(
  context: ForkReconcileContext,
  kind: OwnedKind,
  object: Owned,
): Promise<boolean> {
  const { apis, metrics } = context;
  const { name = '', namespace = '', uid } = object.metadata;
  const body = { preconditions: uid ? { uid } : {} };
  metrics.apiWrites.inc({ resource: kind, verb: 'delete' });
  try {
    if (kind === 'services') await apis.core.deleteNamespacedService({ name, namespace, body });
    else {
      const resource =
        kind === 'deployments'
          ? DEPLOYMENT_RESOURCE
          : kind === 'vsconfigs'
            ? VSCONFIG_RESOURCE
            : VIRTUAL_SERVICE_RESOURCE;
      await apis.custom.deleteNamespacedCustomObject({ ...resource, namespace, name, body });
    }
  } catch (error) {
    // Gone already, or replaced by another object of the same name (uid precondition): not ours.
    if (statusCode(error) !== 404 && statusCode(error) !== 409) throw error;
  }
  context.recent.deleted(recentKey(kind, namespace, name), uid);
  context.logger.info('deleted fork object', { kind, object: `${namespace}/${name}` });
  return true;
}

async function removePreviews(
  context: ForkReconcileContext,
  forkKey: string,
  keep?: string,
): Promise<boolean> {
  let wrote = false;
  for (const preview of context.previewsOf(forkKey)) {
    if (keep !== undefined && objectKey(preview.metadata) === keep) continue;
    wrote = (await remove(context, 'virtualservices', preview as Owned)) || wrote;
  }
  return wrote;
}

async function expire(context: ForkReconcileContext, fork: Fork): Promise<boolean> {
  const { name = '', namespace = '', uid } = fork.metadata;
  context.metrics.apiWrites.inc({ resource: 'forks', verb: 'delete' });
  try {
    await context.apis.custom.deleteNamespacedCustomObject({
      ...FORK_RESOURCE,
      namespace,
      name,
      body: { preconditions: uid ? { uid } : {} },
    });
  } catch (error) {
    if (statusCode(error) === 404 || statusCode(error) === 409) return false;
    throw error;
  }
  context.metrics.forkExpirations.inc();
  context.logger.info('fork expired; deleted it', { fork: `${namespace}/${name}` });
  await context.events.record(
    { apiVersion: FORK_API_VERSION, kind: FORK_KIND, metadata: fork.metadata },
    'Normal',
    'Expired',
    `Fork reached its TTL (${fork.status?.expiresAt ?? 'now'}); kubefork deleted it and everything it made.`,
  );
  return true;
}

/** Whether the live preview VirtualService belongs to another Fork that still exists. */
function previewTakenByOther(
  context: ForkReconcileContext,
  preview: VirtualService,
  forkKey: string,
) {
  const live = context.live<Owned>(
    'virtualservices',
    preview.metadata.namespace ?? '',
    preview.metadata.name ?? '',
  );
  if (!live) return false;
  const owner = live.metadata.annotations?.[FORK_OWNER_ANNOTATION];
  if (owner === forkKey) return false;
  if (owner === undefined) return true; // not kubefork's at all: never overwrite it
  const slash = owner.indexOf('/');
  return context.fork(owner.slice(0, slash), owner.slice(slash + 1)) !== undefined;
}

/** Reconciles the Fork `key` (`namespace/name`). Throws on API errors (retry). */
export async function reconcileFork(
  context: ForkReconcileContext,
  key: string,
): Promise<ForkReconcileResult> {
  const slash = key.indexOf('/');
  const namespace = key.slice(0, slash);
  const name = key.slice(slash + 1);
  const fork = context.fork(namespace, name);
  if (!fork || fork.metadata.deletionTimestamp) {
    return { wrote: await removePreviews(context, key) };
  }
  const nowMs = context.now();
  const { settings } = context;
  const deadline = forkDeadline(fork, settings.maxTtlMs, nowMs);
  if (deadline.expiresAt <= nowMs) {
    const wrote = await expire(context, fork);
    return { wrote: (await removePreviews(context, key)) || wrote };
  }
  const plan = planFork({
    fork,
    forks: context.forksIn(namespace),
    services: context.servicesIn(namespace),
    deployments: context.deploymentsIn(namespace),
    allowedImagePrefixes: settings.allowedImagePrefixes,
    maxForksPerNamespace: settings.maxForksPerNamespace,
    clusterDomain: settings.clusterDomain,
    ...(settings.preview ? { preview: settings.preview } : {}),
  });

  let wrote = false;
  const wanted = {
    deployments: new Set<string>(),
    services: new Set<string>(),
    vsconfigs: new Set<string>(),
  };
  // Services first, then VSConfigs, then Deployments: a route never points at a missing Service.
  for (const entry of plan.services) {
    if (!entry.ok) continue;
    wanted.services.add(entry.service!.metadata.name!);
    wrote = (await apply(context, 'services', entry.service as Owned, fork)) || wrote;
    wanted.vsconfigs.add(entry.vsConfig!.metadata.name!);
    wrote = (await apply(context, 'vsconfigs', entry.vsConfig as unknown as Owned, fork)) || wrote;
    wanted.deployments.add(entry.deployment!.metadata.name!);
    wrote = (await apply(context, 'deployments', entry.deployment as Owned, fork)) || wrote;
  }
  const owned: [OwnedKind, Owned[]][] = [
    ['vsconfigs', context.vsConfigsIn(namespace) as unknown as Owned[]],
    ['deployments', context.deploymentsIn(namespace) as Owned[]],
    ['services', context.servicesIn(namespace) as Owned[]],
  ];
  for (const [kind, objects] of owned) {
    for (const object of objects) {
      if (
        !isOwnedBy(object, fork) ||
        wanted[kind as keyof typeof wanted].has(object.metadata.name ?? '')
      )
        continue;
      wrote = (await remove(context, kind, object)) || wrote;
    }
  }

  let previewInPlace = false;
  if (plan.preview) {
    if (!previewTakenByOther(context, plan.preview, key)) {
      wrote = (await apply(context, 'virtualservices', plan.preview as Owned, fork)) || wrote;
      previewInPlace = true;
    }
    wrote = (await removePreviews(context, key, objectKey(plan.preview.metadata))) || wrote;
  } else {
    wrote = (await removePreviews(context, key)) || wrote;
  }

  const desired = desiredForkStatus({
    fork,
    plan,
    deadline,
    readyReplicas: (deployment) => {
      const live = context.live<Deployment & Owned>('deployments', namespace, deployment);
      return live?.status?.readyReplicas ?? 0;
    },
    previewInPlace,
    now: new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  if (forkStatusChanged(fork.status, desired)) {
    wrote = (await writeStatus(context, fork, desired)) || wrote;
  }
  return {
    wrote,
    requeueAfterMs: Math.min(Math.max(deadline.expiresAt - nowMs, 0) + 50, MAX_WAIT_MS),
  };
}

async function writeStatus(
  context: ForkReconcileContext,
  fork: Fork,
  desired: ReturnType<typeof desiredForkStatus>,
): Promise<boolean> {
  const { namespace = '', name = '' } = fork.metadata;
  context.metrics.apiWrites.inc({ resource: 'forks', verb: 'patch-status' });
  let updated: Fork;
  try {
    updated = (await context.apis.custom.patchNamespacedCustomObjectStatus(
      {
        ...FORK_RESOURCE,
        namespace,
        name,
        body: forkStatusPatch(desired),
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    )) as Fork;
  } catch (error) {
    if (statusCode(error) === 404) return false;
    throw error;
  }
  context.recentForks.wrote(objectKey(updated.metadata), stripManagedFields(updated));
  const before = readyCondition(fork.status);
  const after = readyCondition(desired);
  if (after?.status === 'False' && (before?.status !== 'False' || before.reason !== after.reason)) {
    context.logger.info('Fork not ready', { fork: `${namespace}/${name}`, reason: after.reason });
    await context.events.record(
      { apiVersion: FORK_API_VERSION, kind: FORK_KIND, metadata: updated.metadata },
      'Warning',
      after.reason,
      after.message,
    );
  }
  return true;
}

// One reconcile of one `(namespace, host)`: read the caches, plan, and write only what differs.
//   1. VirtualService: server-side apply (fieldManager `kubefork`, force) when the live object
//      differs from the plan; spec fields someone else added to a managed VirtualService are
//      removed (apply cannot remove fields it does not own); managed VirtualServices the plan no
//      longer wants are deleted (with uid and resourceVersion preconditions).
//   2. Status of each VSConfig, through /status, only when it changed.
//   3. A Warning event when a VSConfig becomes not Ready (or not Ready for a new reason).
import { isDeepStrictEqual } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { VIRTUAL_SERVICE_API_VERSION, VSCONFIG_API_VERSION } from '../constants.js';
import { planHost } from '../plan.js';
import { compareText } from '../text.js';
import type { PlanResult, VirtualService, VSConfig } from '../types.js';
import { isAdoptableVirtualService, isManagedVirtualService } from '../virtual-service.js';
import type { KubeApis } from './api.js';
import { statusCode } from './api-status.js';
import type { EventRecorder } from './events.js';
import { type HostKey, objectKey, parseHostKey } from './host-index.js';
import { stripManagedFields } from './informer.js';
import type { Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import type { RecentWrites } from './recent-writes.js';
import { desiredStatus, readyCondition, statusChanged, statusPatch } from './status.js';

export const FIELD_MANAGER = 'kubefork';

const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export const VSCONFIG_RESOURCE = { ...groupVersion(VSCONFIG_API_VERSION), plural: 'vsconfigs' };
export const VIRTUAL_SERVICE_RESOURCE = {
  ...groupVersion(VIRTUAL_SERVICE_API_VERSION),
  plural: 'virtualservices',
};

/** All the controller keeps of a Service. */
export interface ServiceRef {
  metadata?: {
    name?: string | undefined;
    namespace?: string | undefined;
    resourceVersion?: string | undefined;
  };
}

/** What a reconcile reads and writes through; owned by the session. */
export interface ReconcileContext {
  apis: KubeApis;
  vsconfigsOf(key: HostKey): VSConfig[];
  virtualServicesOf(key: HostKey): VirtualService[];
  service(namespace: string, name: string): ServiceRef | undefined;
  recentVirtualServices: RecentWrites<VirtualService>;
  recentVSConfigs: RecentWrites<VSConfig>;
  /** Fingerprint of the last plan each host converged to: a later difference is drift. */
  converged: Map<HostKey, string>;
  headerAllowList: string[];
  clusterDomain: string;
  metrics: ControllerMetrics;
  events: EventRecorder;
  logger: Logger;
}

/** Reconciles `key`; returns whether anything was written. Throws on API errors (retry). */
export async function reconcileHost(context: ReconcileContext, key: HostKey): Promise<boolean> {
  const { namespace, host } = parseHostKey(key);
  const vsconfigs = context.vsconfigsOf(key);
  const virtualServices = context.virtualServicesOf(key);
  const existing = pickExisting(virtualServices, host);
  const plan = planHost({
    namespace,
    host,
    vsconfigs,
    headerAllowList: context.headerAllowList,
    clusterDomain: context.clusterDomain,
    ...(existing ? { existing } : {}),
  });

  let wrote = false;
  const planned = plan.virtualService;
  if (planned) wrote = (await writeVirtualService(context, key, planned, virtualServices)) || wrote;
  else context.converged.delete(key);
  for (const stale of virtualServices) {
    if (!isManagedVirtualService(stale) || stale.metadata.name === planned?.metadata.name) continue;
    wrote = (await deleteVirtualService(context, stale)) || wrote;
  }

  const byName = new Map(vsconfigs.map((vsconfig) => [vsconfig.metadata.name ?? '', vsconfig]));
  const statusWrites = plan.results.map((result) => {
    const vsconfig = byName.get(result.name);
    return vsconfig ? writeStatus(context, vsconfig, result, planned) : Promise.resolve(false);
  });
  for (const statusWrote of await Promise.all(statusWrites)) wrote = statusWrote || wrote;
  return wrote;
}

/**
 * The VirtualService planHost must consider: a foreign one first (it blocks the host), then an
 * adopted one, then our own.
 */
function pickExisting(virtualServices: VirtualService[], host: string): VirtualService | undefined {
  // Code-unit order, like the planner's: `localeCompare` depends on the ICU data and locale.
  const sorted = [...virtualServices].sort((a, b) =>
    compareText(a.metadata.name ?? '', b.metadata.name ?? ''),
  );
  const foreign = sorted.filter((vs) => !isManagedVirtualService(vs));
  return (
    foreign.find((vs) => !isAdoptableVirtualService(vs)) ??
    foreign.find(isAdoptableVirtualService) ??
    sorted.find((vs) => vs.metadata.name === host) ??
    sorted[0]
  );
}

/** The part of a VirtualService kubefork is responsible for, for comparing and fingerprinting. */
function ownedPart(virtualService: VirtualService, adopted: boolean): unknown {
  if (adopted) return { http: virtualService.spec?.http ?? null };
  return {
    labels: virtualService.metadata.labels ?? {},
    annotations: virtualService.metadata.annotations ?? {},
    spec: virtualService.spec ?? {},
  };
}

function differs(live: VirtualService | undefined, planned: VirtualService, adopted: boolean) {
  if (!live) return true;
  if (adopted) return !isDeepStrictEqual(live.spec?.http ?? null, planned.spec.http ?? null);
  const labels = planned.metadata.labels ?? {};
  const annotations = planned.metadata.annotations ?? {};
  return (
    !isDeepStrictEqual(live.spec ?? {}, planned.spec) ||
    Object.entries(labels).some(([k, v]) => live.metadata.labels?.[k] !== v) ||
    Object.entries(annotations).some(([k, v]) => live.metadata.annotations?.[k] !== v)
  );
}

async function writeVirtualService(
  context: ReconcileContext,
  key: HostKey,
  planned: VirtualService,
  virtualServices: VirtualService[],
): Promise<boolean> {
  const { apis, metrics, recentVirtualServices } = context;
  const name = planned.metadata.name ?? '';
  const namespace = planned.metadata.namespace ?? parseHostKey(key).namespace;
  const adopted = !isManagedVirtualService(planned);
  const live = virtualServices.find((vs) => vs.metadata.name === name);
  const fingerprint = JSON.stringify(ownedPart(planned, adopted));
  if (!differs(live, planned, adopted)) {
    context.converged.set(key, fingerprint);
    return false;
  }
  if (context.converged.get(key) === fingerprint) {
    // The plan did not change since we converged, yet the object did: someone edited it.
    metrics.driftCorrections.inc();
    context.logger.info('restoring drifted VirtualService', {
      virtualService: `${namespace}/${name}`,
    });
    void context.events.record(
      live ?? planned,
      'Normal',
      'DriftCorrected',
      live
        ? 'VirtualService was changed by someone else; kubefork restored its routes.'
        : 'VirtualService was deleted by someone else; kubefork recreated it.',
    );
  }
  // An adopted VirtualService: take part in `spec.http` only; everything else stays its owner's.
  const body = adopted
    ? {
        apiVersion: planned.apiVersion,
        kind: planned.kind,
        metadata: { name, namespace },
        spec: planned.spec.http ? { http: planned.spec.http } : {},
      }
    : planned;
  const resource = VIRTUAL_SERVICE_RESOURCE;
  metrics.apiWrites.inc({ resource: 'virtualservices', verb: 'apply' });
  let result = (await apis.custom.patchNamespacedCustomObject(
    { ...resource, namespace, name, body, fieldManager: FIELD_MANAGER, force: true },
    applyPatch,
  )) as VirtualService;
  // Apply never removes fields another manager owns (e.g. `gateways` added by `kubectl edit`).
  const extra = adopted ? [] : Object.keys(result.spec ?? {}).filter((k) => !(k in planned.spec));
  if (extra.length > 0) {
    metrics.apiWrites.inc({ resource: 'virtualservices', verb: 'patch' });
    result = (await apis.custom.patchNamespacedCustomObject(
      {
        ...resource,
        namespace,
        name,
        body: { spec: Object.fromEntries(extra.map((k) => [k, null])) },
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    )) as VirtualService;
  }
  recentVirtualServices.wrote(objectKey(result.metadata), stripManagedFields(result));
  context.converged.set(key, fingerprint);
  context.logger.debug('applied VirtualService', { virtualService: `${namespace}/${name}` });
  return true;
}

async function deleteVirtualService(
  context: ReconcileContext,
  virtualService: VirtualService,
): Promise<boolean> {
  const { name = '', namespace = '', uid, resourceVersion } = virtualService.metadata;
  context.metrics.apiWrites.inc({ resource: 'virtualservices', verb: 'delete' });
  try {
    await context.apis.custom.deleteNamespacedCustomObject({
      ...VIRTUAL_SERVICE_RESOURCE,
      namespace,
      name,
      body: {
        preconditions: { ...(uid ? { uid } : {}), ...(resourceVersion ? { resourceVersion } : {}) },
      },
    });
  } catch (error) {
    if (statusCode(error) !== 404) throw error;
  }
  context.recentVirtualServices.deleted(objectKey(virtualService.metadata), uid);
  context.logger.info('deleted VirtualService', { virtualService: `${namespace}/${name}` });
  return true;
}

async function writeStatus(
  context: ReconcileContext,
  vsconfig: VSConfig,
  result: PlanResult,
  planned: VirtualService | null,
): Promise<boolean> {
  const { namespace = '', name = '' } = vsconfig.metadata;
  const service = vsconfig.spec?.service;
  const desired = desiredStatus({
    vsconfig,
    result,
    virtualService: planned?.metadata.name,
    serviceExists: typeof service === 'string' && context.service(namespace, service) !== undefined,
    now: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  if (!statusChanged(vsconfig.status, desired)) return false;
  context.metrics.apiWrites.inc({ resource: 'vsconfigs', verb: 'patch-status' });
  let updated: VSConfig;
  try {
    updated = (await context.apis.custom.patchNamespacedCustomObjectStatus(
      {
        ...VSCONFIG_RESOURCE,
        namespace,
        name,
        body: statusPatch(desired),
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    )) as VSConfig;
  } catch (error) {
    // Deleted meanwhile: its DELETE event reconciles the host again.
    if (statusCode(error) === 404) return false;
    throw error;
  }
  context.recentVSConfigs.wrote(objectKey(updated.metadata), stripManagedFields(updated));
  const before = readyCondition(vsconfig.status);
  const after = readyCondition(desired);
  if (after?.status === 'False' && (before?.status !== 'False' || before.reason !== after.reason)) {
    context.logger.info('VSConfig not ready', {
      vsconfig: `${namespace}/${name}`,
      reason: after.reason,
      message: after.message,
    });
    await context.events.record(
      { apiVersion: VSCONFIG_API_VERSION, kind: 'VSConfig', metadata: updated.metadata },
      'Warning',
      after.reason,
      after.message,
    );
  }
  return true;
}

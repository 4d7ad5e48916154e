import {
  ADOPT_ANNOTATION,
  DEFAULT_CLUSTER_DOMAIN,
  HOST_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from './constants.js';
import type { ObjectMeta, VirtualService } from './types.js';

/** True when kubefork owns `virtualService` (label `app.kubernetes.io/managed-by: kubefork`). */
export function isManagedVirtualService(virtualService: VirtualService): boolean {
  return virtualService.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** True when a foreign `virtualService` lets kubefork add fork routes (`kubefork.dev/adopt: "true"`). */
export function isAdoptableVirtualService(virtualService: VirtualService): boolean {
  return virtualService.metadata?.annotations?.[ADOPT_ANNOTATION] === 'true';
}

/** Metadata the API server owns: never part of a desired object. */
const SERVER_FIELDS = new Set([
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/** A copy of `metadata` without the fields the API server sets. */
export function desiredMetadata(metadata: ObjectMeta): ObjectMeta {
  const copy: ObjectMeta = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!SERVER_FIELDS.has(key)) copy[key] = value;
  }
  return copy;
}

/**
 * The `(namespace, host)` pairs a VirtualService routes, for mapping VirtualService events to the
 * planner's keys: the `kubefork.dev/host` label of a managed one, and every entry of `spec.hosts`
 * that names a Service of its own namespace (`name`, `name.ns`, `name.ns.svc`,
 * `name.ns.svc.<clusterDomain>`). Wildcards and hosts outside the cluster are skipped.
 *
 * @example
 * virtualServiceHosts({ apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService',
 *   metadata: { name: 'vs', namespace: 'shop' }, spec: { hosts: ['cart', 'pay.shop.svc.cluster.local'] } });
 * // → [{ namespace: 'shop', host: 'cart' }, { namespace: 'shop', host: 'pay' }]
 */
export function virtualServiceHosts(
  virtualService: VirtualService,
  clusterDomain: string = DEFAULT_CLUSTER_DOMAIN,
): { namespace: string; host: string }[] {
  const namespace = virtualService.metadata?.namespace;
  if (typeof namespace !== 'string' || namespace.length === 0) return [];
  const found = new Set<string>();
  const label = virtualService.metadata?.labels?.[HOST_LABEL];
  if (isManagedVirtualService(virtualService) && typeof label === 'string') found.add(label);
  const hosts = virtualService.spec?.hosts;
  for (const entry of Array.isArray(hosts) ? hosts : []) {
    if (typeof entry !== 'string') continue;
    const [name, ...rest] = entry.split('.');
    const suffix = rest.join('.');
    if (
      name &&
      name !== '*' &&
      (suffix === '' ||
        suffix === namespace ||
        suffix === `${namespace}.svc` ||
        suffix === `${namespace}.svc.${clusterDomain}`)
    ) {
      found.add(name);
    }
  }
  return [...found].sort().map((host) => ({ namespace, host }));
}

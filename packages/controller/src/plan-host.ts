import {
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_HEADER_ALLOW_LIST,
  DEFAULT_ROUTE_NAME,
  HOST_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  ROUTE_NAME_PREFIX,
  VIRTUAL_SERVICE_API_VERSION,
  VIRTUAL_SERVICE_KIND,
} from './constants.js';
import { invalidOption } from './errors.js';
import {
  defaultRoute,
  forkRoutes,
  ISTIO_REGEX_MAX_LENGTH,
  longestRouteRegex,
  serviceFqdn,
} from './routes.js';
import { compareText } from './text.js';
import type { HostPlan, PlanHostInput, PlanResult, VirtualService } from './types.js';
import {
  checkVSConfig,
  DNS_1123_LABEL,
  DNS_1123_SUBDOMAIN,
  type Fork,
  HEADER_NAME_PATTERN,
} from './validate.js';
import {
  desiredMetadata,
  isAdoptableVirtualService,
  isManagedVirtualService,
} from './virtual-service.js';

/** The route order of the issue: headerName, headerValue, creationTimestamp (oldest first), name. */
function compareForks(a: Fork, b: Fork): number {
  return (
    compareText(a.headerName, b.headerName) ||
    compareText(a.headerValue, b.headerValue) ||
    (a.created === b.created ? 0 : a.created < b.created ? -1 : 1) ||
    compareText(a.name, b.name)
  );
}

function compareResults(a: PlanResult, b: PlanResult): number {
  return (
    compareText(a.name, b.name) ||
    compareText(a.reason, b.reason) ||
    compareText(a.message, b.message)
  );
}

export interface PlanOptions {
  namespace: string;
  host: string;
  allowList: Set<string>;
  clusterDomain: string;
}

/** Checks the caller's input (not the VSConfigs): mistakes here are bugs, so they throw. */
export function readOptions(input: PlanHostInput): PlanOptions {
  if (typeof input !== 'object' || input === null) {
    throw invalidOption('planHost input', input, 'an object');
  }
  const {
    namespace,
    host,
    vsconfigs,
    existing,
    headerAllowList = DEFAULT_HEADER_ALLOW_LIST,
    clusterDomain = DEFAULT_CLUSTER_DOMAIN,
  } = input;
  if (typeof namespace !== 'string' || !DNS_1123_LABEL.test(namespace)) {
    throw invalidOption('namespace', namespace, 'a namespace name (DNS-1123 label)');
  }
  if (typeof host !== 'string') throw invalidOption('host', host, 'a string');
  if (!Array.isArray(vsconfigs)) throw invalidOption('vsconfigs', vsconfigs, 'an array');
  if (!Array.isArray(headerAllowList)) {
    throw invalidOption('headerAllowList', headerAllowList, 'an array of header names');
  }
  const allowList = new Set<string>();
  for (const name of headerAllowList as unknown[]) {
    if (typeof name !== 'string' || !HEADER_NAME_PATTERN.test(name.toLowerCase())) {
      throw invalidOption('headerAllowList', name, 'an HTTP header name (RFC 9110 token)');
    }
    allowList.add(name.toLowerCase());
  }
  if (typeof clusterDomain !== 'string' || !DNS_1123_SUBDOMAIN.test(clusterDomain)) {
    throw invalidOption('clusterDomain', clusterDomain, 'a DNS name such as "cluster.local"');
  }
  if (existing !== undefined && existing !== null) {
    if (typeof existing !== 'object' || typeof existing.metadata !== 'object') {
      throw invalidOption('existing', existing, 'a VirtualService with metadata');
    }
    const existingNamespace = existing.metadata?.namespace;
    if (existingNamespace !== undefined && existingNamespace !== namespace) {
      throw invalidOption('existing.metadata.namespace', existingNamespace, `"${namespace}"`);
    }
  }
  return { namespace, host, allowList, clusterDomain };
}

function managedVirtualService(forks: readonly Fork[], options: PlanOptions): VirtualService {
  const { namespace, host, clusterDomain } = options;
  return {
    apiVersion: VIRTUAL_SERVICE_API_VERSION,
    kind: VIRTUAL_SERVICE_KIND,
    metadata: {
      name: host,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [HOST_LABEL]: host },
    },
    spec: {
      hosts: [serviceFqdn(host, namespace, clusterDomain)],
      http: [
        ...forkRoutes(forks, namespace, clusterDomain),
        defaultRoute(host, namespace, clusterDomain),
      ],
    },
  };
}

/**
 * The adopted VirtualService with the current fork routes in front. Routes kubefork added earlier
 * (named `kubefork-…`) are replaced, everything else is kept as it is. A VirtualService without
 * HTTP routes of its own gets a default route too (`kubefork-default`), or HTTP requests that
 * match no fork would find no route.
 */
function adoptedVirtualService(
  existing: VirtualService,
  forks: readonly Fork[],
  options: PlanOptions,
): VirtualService {
  const { namespace, host, clusterDomain } = options;
  const { status: _status, metadata, spec, ...rest } = existing;
  const kept = (Array.isArray(spec?.http) ? spec.http : []).filter(
    (route) => !(typeof route?.name === 'string' && route.name.startsWith(ROUTE_NAME_PREFIX)),
  );
  const http = [...forkRoutes(forks, namespace, clusterDomain), ...kept];
  if (kept.length === 0 && forks.length > 0) {
    // Prefixed, so it goes again with the last fork like every route kubefork added.
    http.push({
      ...defaultRoute(host, namespace, clusterDomain),
      name: `${ROUTE_NAME_PREFIX}${DEFAULT_ROUTE_NAME}`,
    });
  }
  const adopted: VirtualService = {
    ...rest,
    metadata: desiredMetadata(metadata),
    spec: { ...spec },
  };
  if (http.length > 0) adopted.spec.http = http;
  else delete adopted.spec.http;
  return adopted;
}

/** True when every entry of `spec.hosts` names the planned host (short, `.ns`, `.ns.svc` or FQDN). */
function routesOnly(existing: VirtualService, options: PlanOptions): boolean {
  const { namespace, host, clusterDomain } = options;
  const hosts = existing.spec?.hosts;
  const names = new Set([
    host,
    `${host}.${namespace}`,
    `${host}.${namespace}.svc`,
    serviceFqdn(host, namespace, clusterDomain),
  ]);
  return Array.isArray(hosts) && hosts.length > 0 && hosts.every((entry) => names.has(entry));
}

function describeVirtualService(virtualService: VirtualService, namespace: string): string {
  return `${virtualService.metadata?.namespace ?? namespace}/${virtualService.metadata?.name ?? '?'}`;
}

/**
 * Plans the routing of one host: every VSConfig of `(namespace, host)` → the one VirtualService
 * the host should have, plus a verdict per VSConfig. Pure and deterministic: the same VSConfigs in
 * any order give a deep-equal plan (and byte-identical YAML).
 *
 * Rules: invalid VSConfigs → `Invalid`; a header not on `headerAllowList` → `HeaderNotAllowed`;
 * routes that would need a regex over Istio's 1,024 characters → `RegexTooLong`;
 * two forks of the same header and value → the oldest wins, the others `DuplicateHeaderValue`;
 * a foreign `existing` VirtualService → `HostClaimedByForeignVirtualService` and no plan, unless
 * it is annotated `kubefork.dev/adopt: "true"` and routes this host alone: then the plan is that
 * object with the fork routes before its own routes, which stay as they are (also when no fork is
 * left: the plan then removes the fork routes, it never asks to delete a foreign object).
 * Routes: an exact-header route per fork, then a baggage route per fork, then the default route
 * to the host; forks ordered by (headerName, headerValue, creationTimestamp, name).
 *
 * Throws a `TypeError` for mistakes of the caller: a malformed input object, an invalid
 * `namespace`, `headerAllowList` or `clusterDomain`, two VSConfigs of the same name, or a valid
 * VSConfig of another host or namespace.
 *
 * @example
 * const plan = planHost({
 *   namespace: 'shop',
 *   host: 'cart',
 *   vsconfigs: [{ apiVersion: 'kubefork.dev/v1beta1', kind: 'VSConfig',
 *     metadata: { name: 'cart-alice', namespace: 'shop' },
 *     spec: { headerValue: 'alice', host: 'cart', service: 'cart-alice' } }],
 * });
 * plan.virtualService?.spec.http?.map((route) => route.name);
 * // → ['kubefork-alice', 'kubefork-alice-baggage', 'default']
 */
export function planHost(input: PlanHostInput): HostPlan {
  const options = readOptions(input);
  const { namespace, host, allowList } = options;
  const existing = input.existing ?? undefined;
  const results: PlanResult[] = [];
  const candidates: Fork[] = [];
  const names = new Set<string>();

  for (const vsconfig of input.vsconfigs) {
    const checked = checkVSConfig(vsconfig);
    if (!checked.ok) {
      const name = vsconfig?.metadata?.name;
      results.push({
        name: typeof name === 'string' ? name : '',
        ready: false,
        reason: 'Invalid',
        message: `${checked.problems.join('; ')}.`,
      });
      continue;
    }
    const { fork } = checked;
    const ownNamespace = vsconfig.metadata.namespace;
    if (fork.host !== host || (ownNamespace !== undefined && ownNamespace !== namespace)) {
      throw invalidOption(
        'vsconfigs',
        `${ownNamespace ?? namespace}/${fork.name}`,
        `VSConfigs of host "${host}" in namespace "${namespace}" (it is for host "${fork.host}")`,
      );
    }
    if (names.has(fork.name)) {
      throw invalidOption('vsconfigs', fork.name, 'VSConfigs with distinct names (seen twice)');
    }
    names.add(fork.name);
    if (!allowList.has(fork.headerName)) {
      results.push({
        name: fork.name,
        ready: false,
        reason: 'HeaderNotAllowed',
        message: `spec.headerName "${fork.headerName}" is not on the controller's header allow-list (${[...allowList].sort().join(', ') || 'empty'}).`,
      });
      continue;
    }
    const longest = longestRouteRegex(fork);
    if (longest > ISTIO_REGEX_MAX_LENGTH) {
      results.push({
        name: fork.name,
        ready: false,
        reason: 'RegexTooLong',
        message: `spec.headerName "${fork.headerName}" and spec.headerValue "${fork.headerValue}" are too long together: the baggage route would need a regex of ${longest} characters, and Istio refuses a VirtualService with one over ${ISTIO_REGEX_MAX_LENGTH}. Use a shorter header name or fork id.`,
      });
      continue;
    }
    candidates.push(fork);
  }

  candidates.sort(compareForks);
  const foreign = existing !== undefined && !isManagedVirtualService(existing);
  const adoptable = foreign && isAdoptableVirtualService(existing);
  const adopted = adoptable && routesOnly(existing, options);
  if (foreign && !adopted) {
    const where = describeVirtualService(existing, namespace);
    const message = adoptable
      ? `VirtualService ${where} is annotated kubefork.dev/adopt but routes other hosts too (${(existing.spec?.hosts ?? []).join(', ') || 'none'}); kubefork adopts only a VirtualService of host "${host}" alone, or its fork routes would capture the other hosts' traffic.`
      : `VirtualService ${where} already routes host "${host}" and is not managed by kubefork; annotate it kubefork.dev/adopt: "true" to let kubefork put fork routes before its routes.`;
    for (const fork of candidates) {
      results.push({
        name: fork.name,
        ready: false,
        reason: 'HostClaimedByForeignVirtualService',
        message,
      });
    }
    return { virtualService: null, results: results.sort(compareResults) };
  }

  const winners: Fork[] = [];
  const byHeader = new Map<string, Fork>();
  for (const fork of candidates) {
    const key = `${fork.headerName}\n${fork.headerValue}`;
    const winner = byHeader.get(key);
    if (winner === undefined) {
      byHeader.set(key, fork);
      winners.push(fork);
      continue;
    }
    results.push({
      name: fork.name,
      ready: false,
      reason: 'DuplicateHeaderValue',
      message: `${fork.headerName}: ${fork.headerValue} is already routed to "${winner.service}" by the older VSConfig "${winner.name}"; delete or change one of them.`,
    });
  }

  let virtualService: VirtualService | null = null;
  if (adopted) virtualService = adoptedVirtualService(existing, winners, options);
  else if (winners.length > 0) virtualService = managedVirtualService(winners, options);

  for (const fork of winners) {
    results.push({
      name: fork.name,
      ready: true,
      reason: 'Accepted',
      message: `Requests with ${fork.headerName}: ${fork.headerValue} are routed to "${fork.service}" by VirtualService ${describeVirtualService(virtualService!, namespace)}.`,
    });
  }
  return { virtualService, results: results.sort(compareResults) };
}

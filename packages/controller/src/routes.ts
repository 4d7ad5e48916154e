import { DEFAULT_ROUTE_NAME, ROUTE_NAME_PREFIX } from './constants.js';
import type { HTTPRoute, HTTPRouteDestination } from './types.js';
import type { Fork } from './validate.js';

/** Escapes every RE2 (and ECMAScript) metacharacter, so `text` matches only itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * An RE2 pattern that, as a full match (Envoy's `safe_regex`), holds for a W3C `baggage` value
 * containing exactly the member `key=value`: the key at the start or right after a comma, the
 * value followed by properties (`;…`), the next member (`,…`) or the end. Optional whitespace
 * around both is allowed (W3C Baggage §3.3.1, `OWS`). `alice` does not match `alice2`, and a
 * property `;key=value` of another member does not count. No lookaround and no backreference:
 * RE2 has neither.
 */
export function baggageMemberRegex(key: string, value: string): string {
  return `(.*,)?[ \\t]*${escapeRegex(key)}[ \\t]*=[ \\t]*${escapeRegex(value)}[ \\t]*([;,].*)?`;
}

/** `<name>.<namespace>.svc.<clusterDomain>`: Istio resolves short names in the VirtualService's namespace, an FQDN means the same thing everywhere. */
export function serviceFqdn(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}

function forkDestination(
  fork: Fork,
  namespace: string,
  clusterDomain: string,
): HTTPRouteDestination {
  const host = serviceFqdn(fork.service, namespace, clusterDomain);
  return {
    destination: fork.port === undefined ? { host } : { host, port: { number: fork.port } },
  };
}

/** The exact-header route of one fork. */
export function headerRoute(fork: Fork, namespace: string, clusterDomain: string): HTTPRoute {
  return {
    name: `${ROUTE_NAME_PREFIX}${fork.headerValue}`,
    match: [{ headers: { [fork.headerName]: { exact: fork.headerValue } } }],
    route: [forkDestination(fork, namespace, clusterDomain)],
  };
}

/**
 * The baggage route of one fork: the SDK writes the fork id as a baggage member whose key is the
 * header name, so a fork survives hops that forward only W3C baggage.
 */
export function baggageRoute(fork: Fork, namespace: string, clusterDomain: string): HTTPRoute {
  return {
    name: `${ROUTE_NAME_PREFIX}${fork.headerValue}-baggage`,
    match: [
      { headers: { baggage: { regex: baggageMemberRegex(fork.headerName, fork.headerValue) } } },
    ],
    route: [forkDestination(fork, namespace, clusterDomain)],
  };
}

/** The last route of a managed VirtualService: everything else goes to the host itself. */
export function defaultRoute(host: string, namespace: string, clusterDomain: string): HTTPRoute {
  return {
    name: DEFAULT_ROUTE_NAME,
    route: [{ destination: { host: serviceFqdn(host, namespace, clusterDomain) } }],
  };
}

/** All fork routes in their order: every header route first, then every baggage route. */
export function forkRoutes(
  forks: readonly Fork[],
  namespace: string,
  clusterDomain: string,
): HTTPRoute[] {
  return [
    ...forks.map((fork) => headerRoute(fork, namespace, clusterDomain)),
    ...forks.map((fork) => baggageRoute(fork, namespace, clusterDomain)),
  ];
}

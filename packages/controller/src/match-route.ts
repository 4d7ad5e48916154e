import { RE2JS } from 're2js';
import type {
  HTTPMatchRequest,
  HTTPRoute,
  RouteRequest,
  StringMatch,
  VirtualService,
} from './types.js';

// Fields of an HTTPMatchRequest that only label it; they never decide whether it holds.
const LABELS = new Set(['name', 'ignoreUriCase', 'statPrefix']);

const compiled = new Map<string, RE2JS | null>();

/**
 * Envoy compiles `regex` with RE2 and requires it to match the whole value (`safe_regex`), so the
 * check uses RE2 semantics (re2js), not ECMAScript's. An expression RE2 rejects matches nothing
 * (Istio's validation would have refused it anyway).
 */
function fullMatch(regex: string, value: string): boolean {
  let re = compiled.get(regex);
  if (re === undefined) {
    try {
      re = RE2JS.compile(regex);
    } catch {
      re = null;
    }
    if (compiled.size >= 1000) compiled.clear();
    compiled.set(regex, re);
  }
  return re?.matches(value) === true;
}

/** Istio `StringMatch` on a header value; an empty match object only asks for presence. */
function stringMatches(match: StringMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (typeof match !== 'object' || match === null) return false;
  if (typeof match.exact === 'string') return value === match.exact;
  if (typeof match.prefix === 'string') return value.startsWith(match.prefix);
  if (typeof match.regex === 'string') return fullMatch(match.regex, value);
  return Object.keys(match).length === 0;
}

function matchHolds(match: HTTPMatchRequest, headers: Map<string, string>): boolean {
  if (typeof match !== 'object' || match === null) return false;
  for (const [field, condition] of Object.entries(match)) {
    if (LABELS.has(field) || condition === undefined) continue;
    if (field !== 'headers' && field !== 'withoutHeaders') return false;
    if (typeof condition !== 'object' || condition === null) return false;
    for (const [name, stringMatch] of Object.entries(condition as Record<string, StringMatch>)) {
      const holds = stringMatches(stringMatch, headers.get(name.toLowerCase()));
      if (holds !== (field === 'headers')) return false;
    }
  }
  return true;
}

function routeMatches(route: HTTPRoute, headers: Map<string, string>): boolean {
  const matches = route.match;
  if (!Array.isArray(matches) || matches.length === 0) return true;
  return matches.some((match) => matchHolds(match, headers));
}

/** The destination of a taken route; of several weighted ones the heaviest (the first on ties). */
function destinationHost(route: HTTPRoute): string | undefined {
  const destinations = Array.isArray(route.route) ? route.route : [];
  let best: { host: string; weight: number } | undefined;
  for (const entry of destinations) {
    const host = entry?.destination?.host;
    if (typeof host !== 'string') continue;
    const weight =
      typeof entry.weight === 'number' ? entry.weight : destinations.length === 1 ? 100 : 0;
    if (best === undefined || weight > best.weight) best = { host, weight };
  }
  return best?.host;
}

/**
 * The destination host Istio would send `request` to: the first HTTP route whose match holds wins
 * (a route without `match` always holds; one of several `match` entries is enough; within an
 * entry every condition must hold). Header names are compared lower-case; `exact`, `prefix` and
 * `regex` (RE2, full match) are supported, and `withoutHeaders`. A condition on anything but
 * headers (uri, method, port, source labels, …) cannot be judged from headers alone and is taken
 * not to hold. Returns `undefined` when no route matches or the route taken has no destination
 * (redirect, direct response, delegate).
 *
 * A tool for tests and `render` users, not a request path: it does not need to be fast.
 *
 * @example
 * matchRoute(plan.virtualService, { headers: { 'X-Fork-Identifier': 'alice' } });
 * // → 'cart-alice.shop.svc.cluster.local'
 */
export function matchRoute(
  virtualService: VirtualService,
  request: RouteRequest,
): string | undefined {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request?.headers ?? {})) {
    if (typeof value !== 'string') continue;
    const key = name.toLowerCase();
    const previous = headers.get(key);
    // Envoy joins repeated headers with ',' before matching; so do we for names differing in case.
    headers.set(key, previous === undefined ? value : `${previous},${value}`);
  }
  const routes = virtualService?.spec?.http;
  for (const route of Array.isArray(routes) ? routes : []) {
    if (typeof route === 'object' && route !== null && routeMatches(route, headers)) {
      return destinationHost(route);
    }
  }
  return undefined;
}

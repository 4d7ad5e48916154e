import { DEFAULT_ROUTE_NAME, ROUTE_NAME_PREFIX } from './constants.js';
import type { HTTPRoute, HTTPRouteDestination } from './types.js';
import type { Fork } from './validate.js';

/** Escapes every RE2 (and ECMAScript) metacharacter, so `text` matches only itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

// The routes below decide exactly as `extractForkId` of @kubefork/context does (packages/context/
// src/extract.ts and baggage.ts); test/agreement.test.ts holds both to it. Istio's validation
// refuses a VirtualService with a regex longer than 1,024 characters (ISTIO_REGEX_MAX_LENGTH), so
// the baggage rule is split over two short regexes: the route's `headers.baggage` finds our member
// with the fork's value, and its `withoutHeaders.baggage` holds for what the SDK refuses whole
// (our key twice, or the W3C limits broken). RE2 has no lookaround and no backreference.

/** Optional whitespace (RFC 9110 OWS, W3C Baggage OWS). */
const OWS = '[ \\t]*';

/** An RE2 class of every character but `excluded` (token characters and separators). */
function except(excluded: string): string {
  return `[^${excluded.replace(/[\\\]^-]/g, '\\$&').replace('\t', '\\t')}]`;
}

/** Any character of a list member (everything but the list separator). */
const MEMBER_CHAR = except(',');
/** Any list members before or after the one a pattern names (each ends or starts with `,`). */
const MEMBERS_BEFORE = `(?:${MEMBER_CHAR}*,)*`;
const MEMBERS_AFTER = `(?:,${MEMBER_CHAR}*)*`;

/**
 * Istio's validation refuses a VirtualService whose header match has a regex longer than this
 * (istio/istio pkg/config/validation, `validateStringRegexp`, "regex is too large"), and with it
 * every route of the object. The planner refuses a VSConfig whose routes would cross it.
 */
export const ISTIO_REGEX_MAX_LENGTH = 1024;

/** `value` as written raw: each character itself or percent-encoded, hex digits in either case. */
function encodedValue(value: string): string {
  let out = '';
  for (const char of value) {
    const hex = char.charCodeAt(0).toString(16).padStart(2, '0');
    const digits = [...hex]
      .map((digit) => (/[a-f]/.test(digit) ? `[${digit}${digit.toUpperCase()}]` : digit))
      .join('');
    out += `(?:${escapeRegex(char)}|%${digits})`;
  }
  return out;
}

/**
 * An RE2 pattern that, as a full match (Envoy's `safe_regex`), holds for a W3C `baggage` value
 * with a member `key=value`: the key compared as it is, the value raw or percent-encoded (hex
 * digits in either case), optional whitespace trimmed around key and value (W3C Baggage §3.3.1),
 * not inside them, properties after `;` ignored. `extractForkId` reads `value` from exactly such a
 * header unless `baggageExcludeRegex(key)` holds for it too (our key twice, or the W3C limits
 * broken); a baggage route needs both.
 */
export function baggageMemberRegex(key: string, value: string): string {
  const ours = `${OWS}${escapeRegex(key)}${OWS}=${OWS}${encodedValue(value)}${OWS}(?:;${MEMBER_CHAR}*)?`;
  return `${MEMBERS_BEFORE}${ours}${MEMBERS_AFTER}`;
}

/**
 * An RE2 pattern that holds for a `baggage` value from which `extractForkId` reads no fork for
 * `key` whatever its members say: two or more members named `key` (with any values, or none:
 * `ambiguous`), or the W3C limits broken (`baggageLimitRegex`). The baggage route of a fork puts
 * it under `withoutHeaders`.
 */
export function baggageExcludeRegex(key: string): string {
  const named = `${OWS}${escapeRegex(key)}${OWS}(?:[;=]${MEMBER_CHAR}*)?`;
  return `${MEMBERS_BEFORE}${named},${MEMBERS_BEFORE}${named}${MEMBERS_AFTER}|${BAGGAGE_LIMIT_REGEX}`;
}

/**
 * An RE2 pattern that holds for a `baggage` value `extractForkId` ignores whole: over 8,192
 * counted bytes or 180 non-empty members, or (the one place where the mesh is stricter than the
 * SDK) holding a character outside ASCII. Envoy's RE2 counts UTF-8 characters where the SDK counts
 * bytes, and W3C baggage is ASCII; so such a header is never routed to a fork although the SDK may
 * still read our member from it: that hop serves the baseline and the fork goes on downstream, the
 * safe direction (the other one, a fork's copy calling on as baseline, never happens).
 * Both sides count the bytes that are not whitespace or control characters (`[!-~]` in ASCII):
 * node:http joins repeated headers with ", ", Envoy with ",", so only those bytes are the same on
 * both copies. RE2 repeats at most 1,000 times, hence the spelled-out thousands.
 */
export function baggageLimitRegex(): string {
  const byte = '[\\x00-\\x7f]';
  const counted = '(?:[\\x00- \\x7f]*[!-~])';
  const tooLong = `${`${counted}{1000}`.repeat(8)}${counted}{193}${byte}*`;
  const blank = `${OWS},`;
  const member = `${OWS}${except(', \t')}${MEMBER_CHAR}*`;
  const tooMany = `(?:${blank})*${member}(?:,(?:${blank})*${member}){180}(?:,${MEMBER_CHAR}*)*`;
  const notAscii = '(?s:.)*[^\\x00-\\x7f](?s:.)*';
  return `${tooLong}|${tooMany}|${notAscii}`;
}

/** The limits regex is the same for every fork: built once. */
const BAGGAGE_LIMIT_REGEX = baggageLimitRegex();

/**
 * An RE2 pattern that holds for the value of the fork header when `extractForkId` reads the fork
 * `value` from it: a comma-separated list (Envoy joins repeated headers with ",") of elements that
 * are, after trimming optional whitespace, `value` or empty, with at least one `value`.
 */
export function headerValueRegex(value: string): string {
  const fork = escapeRegex(value);
  return `(?:${OWS},)*${OWS}${fork}${OWS}(?:,${OWS}(?:${fork}${OWS})?)*`;
}

/** The length of the longest regex the routes of `fork` need (Istio allows 1,024 characters). */
export function longestRouteRegex(fork: Pick<Fork, 'headerName' | 'headerValue'>): number {
  return Math.max(
    headerValueRegex(fork.headerValue).length,
    baggageMemberRegex(fork.headerName, fork.headerValue).length,
    baggageExcludeRegex(fork.headerName).length,
  );
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

/**
 * The header route of one fork: the header carries the fork id (repeated or with empty list
 * elements as `extractForkId` allows, never another value).
 */
export function headerRoute(fork: Fork, namespace: string, clusterDomain: string): HTTPRoute {
  return {
    name: `${ROUTE_NAME_PREFIX}${fork.headerValue}`,
    match: [{ headers: { [fork.headerName]: { regex: headerValueRegex(fork.headerValue) } } }],
    route: [forkDestination(fork, namespace, clusterDomain)],
  };
}

/**
 * The baggage route of one fork: the SDK writes the fork id as a baggage member whose key is the
 * header name, so a fork survives hops that forward only W3C baggage. Like `extractForkId`, it
 * holds only without the fork header (a present header decides, even when invalid), with our
 * member once, and within the W3C limits.
 */
export function baggageRoute(fork: Fork, namespace: string, clusterDomain: string): HTTPRoute {
  return {
    name: `${ROUTE_NAME_PREFIX}${fork.headerValue}-baggage`,
    match: [
      {
        headers: { baggage: { regex: baggageMemberRegex(fork.headerName, fork.headerValue) } },
        withoutHeaders: {
          [fork.headerName]: {},
          baggage: { regex: baggageExcludeRegex(fork.headerName) },
        },
      },
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

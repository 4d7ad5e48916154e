import { DEFAULT_ROUTE_NAME, ROUTE_NAME_PREFIX } from './constants.js';
import type { HTTPRoute, HTTPRouteDestination } from './types.js';
import type { Fork } from './validate.js';

/** Escapes every RE2 (and ECMAScript) metacharacter, so `text` matches only itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

// The routes below decide exactly as `extractForkId` of @kubefork/context does (packages/context/
// src/extract.ts and baggage.ts); test/agreement.test.ts holds both to it. RE2 has no lookaround,
// no backreference and no intersection, so "every member named K has a value that decodes to V"
// is spelled out as an automaton, and the limits go in a second, negated condition.

/** Optional whitespace (RFC 9110 OWS, W3C Baggage OWS). */
const OWS = '[ \\t]*';

/** An RE2 class of every character but `excluded` (token characters and separators). */
function except(excluded: string): string {
  return `[^${excluded.replace(/[\\\]^-]/g, '\\$&').replace('\t', '\\t')}]`;
}

/** Any character of a list member (everything but the list separator). */
const MEMBER_CHAR = except(',');
/** Any character of a member's key (the key ends at the first `=` or `;`). */
const KEY_CHAR = except(',;=');

/**
 * The key part of a member (text before the first `=` or `;`) whose OWS-trimmed text is not `key`:
 * the complement of `OWS key OWS`, unrolled along `key` (a proper prefix, a prefix followed by a
 * different character, or `key` followed by more than whitespace).
 */
function otherKey(key: string): string {
  let rest = `${OWS}${except(',;= \t')}${KEY_CHAR}*`;
  for (let index = key.length - 1; index >= 1; index--) {
    const char = key[index]!;
    rest = `(?:|${except(`,;=${char}`)}${KEY_CHAR}*|${escapeRegex(char)}${rest})`;
  }
  const first = key[0]!;
  // An empty (or blank) key is another key too, hence the optional group.
  return `${OWS}(?:${except(`,;= \t${first}`)}${KEY_CHAR}*|${escapeRegex(first)}${rest})?`;
}

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
 * An RE2 pattern that, as a full match (Envoy's `safe_regex`), holds for a W3C `baggage` value in
 * which `extractForkId` finds the fork `value`: at least one member `key=value`, and
 * every member named `key` has a value that decodes to `value`. Keys are compared as they are;
 * values may be percent-encoded; optional whitespace is trimmed around keys and raw values
 * (W3C Baggage §3.3.1), not inside them; properties after `;` are ignored; empty members are
 * skipped. The W3C limits are checked by `baggageLimitRegex`.
 */
export function baggageMemberRegex(key: string, value: string): string {
  const ours = `${OWS}${escapeRegex(key)}${OWS}=${OWS}${encodedValue(value)}${OWS}(?:;${MEMBER_CHAR}*)?`;
  const other = `${otherKey(key)}(?:[;=]${MEMBER_CHAR}*)?`;
  return `(?:${other},)*${ours}(?:,(?:${other}|${ours}))*`;
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

/**
 * An RE2 pattern that holds for the value of the fork header when `extractForkId` reads the fork
 * `value` from it: a comma-separated list (Envoy joins repeated headers with ",") of elements that
 * are, after trimming optional whitespace, `value` or empty, with at least one `value`.
 */
export function headerValueRegex(value: string): string {
  const fork = escapeRegex(value);
  return `(?:${OWS},)*${OWS}${fork}${OWS}(?:,${OWS}(?:${fork}${OWS})?)*`;
}

const BAGGAGE_LIMIT_REGEX = baggageLimitRegex();

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
 * holds only without the fork header (a present header decides, even when invalid) and within
 * the W3C limits.
 */
export function baggageRoute(fork: Fork, namespace: string, clusterDomain: string): HTTPRoute {
  return {
    name: `${ROUTE_NAME_PREFIX}${fork.headerValue}-baggage`,
    match: [
      {
        headers: { baggage: { regex: baggageMemberRegex(fork.headerName, fork.headerValue) } },
        withoutHeaders: { [fork.headerName]: {}, baggage: { regex: BAGGAGE_LIMIT_REGEX } },
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

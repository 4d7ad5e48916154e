import { DEFAULT_FORK_ID_PATTERN, DEFAULT_HEADER, DEFAULT_MAX_LENGTH } from './fork-id-rules.js';

// The rules of deploy/crd.yaml, applied again at run time: VSConfigs stored before a CRD upgrade,
// or read from files by `render`, never passed the API server's validation. test/crd.test.ts
// checks that these rules and the CRD's schema agree on every input.

/** DNS-1123 label (a namespace name): lower-case alphanumerics and '-', at most 63 characters. */
export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1123 subdomain (a Lease name, a cluster domain such as `cluster.local`). */
export const DNS_1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1035 label (a Service name): lower-case alphanumerics and '-', starting with a letter. */
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_MAX_LENGTH = 63;
/** A lower-case RFC 9110 §5.6.2 token: what Istio accepts as a header-match key. */
export const HEADER_NAME_PATTERN = /^[-!#$%&'*+.^_`|~0-9a-z]+$/;
export const HEADER_NAME_MAX_LENGTH = 256;

/** A VSConfig that passed validation, with defaults applied. */
export interface Fork {
  name: string;
  /**
   * `metadata.creationTimestamp` in milliseconds since the epoch; `Infinity` when absent or
   * unreadable: an object the API server has not created yet is newer than any it has.
   */
  created: number;
  headerName: string;
  headerValue: string;
  host: string;
  service: string;
  port: number | undefined;
}

export type CheckedVSConfig = { ok: true; fork: Fork } | { ok: false; problems: string[] };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Renders an offending value for a message: short and single-line. */
export function shown(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 70 ? `${value.slice(0, 70)}…` : value);
  }
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (isObject(value)) return 'an object';
  return String(value);
}

function dnsLabel(field: string, value: unknown, problems: string[]): string {
  if (
    typeof value !== 'string' ||
    value.length > DNS_LABEL_MAX_LENGTH ||
    !DNS_1035_LABEL.test(value)
  ) {
    problems.push(
      `${field} must be a Service name (DNS-1035 label: at most 63 of a-z, 0-9 and '-', starting with a letter); got ${shown(value)}`,
    );
  }
  return value as string;
}

// `null` counts as absent for optional fields: the API server prunes nulls before defaulting.

function headerName(value: unknown, problems: string[]): string {
  if (value === undefined || value === null) return DEFAULT_HEADER;
  if (
    typeof value !== 'string' ||
    value.length > HEADER_NAME_MAX_LENGTH ||
    !HEADER_NAME_PATTERN.test(value)
  ) {
    problems.push(
      `spec.headerName must be a lower-case HTTP header name (RFC 9110 token); got ${shown(value)}`,
    );
  } else if (value.endsWith('-bin')) {
    // gRPC sends '-bin' metadata base64-encoded, so an exact match on a fork id could never hold.
    problems.push(
      `spec.headerName must not end in "-bin" (binary gRPC metadata); got ${shown(value)}`,
    );
  } else if (value === 'baggage') {
    problems.push('spec.headerName must not be "baggage" (forks are matched in baggage already)');
  }
  return value as string;
}

function headerValue(value: unknown, problems: string[]): string {
  if (
    typeof value !== 'string' ||
    value.length > DEFAULT_MAX_LENGTH ||
    !DEFAULT_FORK_ID_PATTERN.test(value)
  ) {
    problems.push(
      `spec.headerValue must be a fork id (1-${DEFAULT_MAX_LENGTH} characters matching ${DEFAULT_FORK_ID_PATTERN.source}); got ${shown(value)}`,
    );
  }
  return value as string;
}

function port(value: unknown, problems: string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    problems.push(`spec.port must be an integer from 1 to 65535; got ${shown(value)}`);
  }
  return value as number;
}

function created(value: unknown): number {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/**
 * Checks one VSConfig against the rules of the CRD and returns it with defaults applied, or every
 * problem found (each a sentence naming the field). Never throws, whatever `value` is.
 */
export function checkVSConfig(value: unknown): CheckedVSConfig {
  const problems: string[] = [];
  const metadata = isObject(value) && isObject(value.metadata) ? value.metadata : {};
  const name = metadata.name;
  if (typeof name !== 'string' || name.length === 0) {
    problems.push(`metadata.name must be a non-empty string; got ${shown(name)}`);
  }
  const spec = isObject(value) ? value.spec : undefined;
  if (!isObject(spec)) {
    problems.push(`spec must be an object; got ${shown(spec)}`);
    return { ok: false, problems };
  }
  const fork: Fork = {
    name: name as string,
    created: created(metadata.creationTimestamp),
    headerName: headerName(spec.headerName, problems),
    headerValue: headerValue(spec.headerValue, problems),
    host: dnsLabel('spec.host', spec.host, problems),
    service: dnsLabel('spec.service', spec.service, problems),
    port: port(spec.port, problems),
  };
  if (problems.length === 0 && fork.host === fork.service) {
    problems.push(
      `spec.service must differ from spec.host (a fork routes to its own Service); both are ${shown(fork.host)}`,
    );
  }
  return problems.length === 0 ? { ok: true, fork } : { ok: false, problems };
}

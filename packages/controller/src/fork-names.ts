// Names and label values derived from a fork id. A fork id follows the SDK's rule (upper case,
// '.', '_' allowed), Kubernetes names and label values do not: anything that had to be changed,
// or cut to length, gets a stable hash of the original, so two fork ids never share a name.
import { createHash } from 'node:crypto';
import { DNS_LABEL_MAX_LENGTH } from './validate.js';

const HASH_LENGTH = 8;

/** First 8 hex digits of the SHA-256 of `text`: stable across runs, versions and machines. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);
}

const PLAIN_SEGMENT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `forkId` as a piece of a DNS-1123 label: itself when it already is one, else sanitised + hash. */
export function nameSegment(forkId: string): string {
  if (PLAIN_SEGMENT.test(forkId)) return forkId;
  const cleaned = forkId
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned ? `${cleaned}-${shortHash(forkId)}` : shortHash(forkId);
}

/**
 * `<base>-<forkId>` as a DNS label of at most 63 characters: cut, with a hash of the full name,
 * when longer. `base` is a Deployment or Service name (a DNS label already).
 */
export function copyName(base: string, forkId: string): string {
  const full = `${base}-${nameSegment(forkId)}`;
  if (full.length <= DNS_LABEL_MAX_LENGTH) return full;
  const kept = full.slice(0, DNS_LABEL_MAX_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${kept}-${shortHash(full)}`;
}

/** A label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric (or empty). */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** `text` as a label value: itself when valid, else a valid prefix plus a hash of `text`. */
export function labelValue(text: string): string {
  if (text.length <= DNS_LABEL_MAX_LENGTH && LABEL_VALUE.test(text)) return text;
  const cleaned = text
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .slice(0, DNS_LABEL_MAX_LENGTH - HASH_LENGTH - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned ? `${cleaned}-${shortHash(text)}` : shortHash(text);
}

/** A pod label value rewritten for a fork, so selectors on the old value no longer match. */
export function forkedLabelValue(value: string, forkId: string): string {
  return labelValue(value === '' ? `fork-${forkId}` : `${value}-${forkId}`);
}

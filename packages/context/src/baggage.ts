import { parseKeyPairsIntoRecord } from '@opentelemetry/core';

/** W3C Baggage §3.3.1 limits, the same as OpenTelemetry's `W3CBaggagePropagator`. */
export const BAGGAGE_MAX_BYTES = 8192;
export const BAGGAGE_MAX_MEMBERS = 180;

export type BaggageLookup =
  /** No member with the key (or no baggage at all). */
  | { kind: 'absent' }
  /** Every member with the key decoded to these values (one entry per member, in order). */
  | { kind: 'found'; values: string[] }
  /** A member with the key could not be decoded. */
  | { kind: 'malformed'; raw: string }
  /** Over the W3C limits: the whole header is ignored, as a conforming receiver may do. */
  | { kind: 'too-large'; raw: string };

/** The key of a baggage list member, without decoding: the text before `=` (or `;`), trimmed. */
function memberKey(member: string): string {
  let end = member.indexOf('=');
  if (end === -1) end = member.length;
  const semi = member.indexOf(';');
  if (semi !== -1 && semi < end) end = semi;
  return member.slice(0, end).trim();
}

/**
 * Finds every member named `key` in a W3C `baggage` value. Members are split here (the core
 * parser keeps only the last of duplicate keys, and duplicates with different values must be
 * seen to be refused); each of our members is decoded by `@opentelemetry/core`
 * (percent-decoding, properties after `;` dropped). Malformed members of other keys are skipped
 * without affecting ours.
 */
export function lookupBaggage(baggage: string, key: string): BaggageLookup {
  if (baggage.length > BAGGAGE_MAX_BYTES || Buffer.byteLength(baggage) > BAGGAGE_MAX_BYTES) {
    return { kind: 'too-large', raw: baggage };
  }
  const values: string[] = [];
  let members = 0;
  let start = 0;
  while (start <= baggage.length) {
    let end = baggage.indexOf(',', start);
    if (end === -1) end = baggage.length;
    const member = baggage.slice(start, end);
    start = end + 1;
    if (member.trim() === '') continue;
    if (++members > BAGGAGE_MAX_MEMBERS) {
      return values.length > 0 ? { kind: 'found', values } : { kind: 'too-large', raw: baggage };
    }
    const rawKey = memberKey(member);
    if (rawKey !== key && !(rawKey.includes('%') && safeDecode(rawKey) === key)) continue;
    const rawValue = memberValue(member);
    if (!rawValue.includes('%')) {
      // Nothing to decode: the raw value is the value (the core parser's answer, 20× cheaper).
      values.push(rawValue);
      continue;
    }
    // Percent-decoding and its error handling are the core parser's.
    const value = parseKeyPairsIntoRecord(member)[key];
    if (value === undefined) return { kind: 'malformed', raw: member.trim() };
    values.push(value);
  }
  return values.length > 0 ? { kind: 'found', values } : { kind: 'absent' };
}

/** The raw value of a list member: between `=` and the first `;`, trimmed ('' when none). */
function memberValue(member: string): string {
  const equals = member.indexOf('=');
  const semi = member.indexOf(';');
  if (equals === -1 || (semi !== -1 && semi < equals)) return '';
  return member.slice(equals + 1, semi === -1 ? undefined : semi).trim();
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * Returns `existing` with our member set to `key=value`: any member named `key` is removed and
 * ours is put first (so that a receiver that stops after 180 members still sees it); every other
 * member is kept as it was, properties included. `existing` may be undefined or empty.
 *
 * @example
 * mergeBaggage('userId=42,x-fork-identifier=bob', 'x-fork-identifier', 'alice')
 * // 'x-fork-identifier=alice,userId=42'
 */
export function mergeBaggage(existing: string | undefined, key: string, value: string): string {
  const ours = `${key}=${encodeURIComponent(value)}`;
  if (existing === undefined || existing === '') return ours;
  let merged = ours;
  for (const member of existing.split(',')) {
    const trimmed = member.trim();
    if (trimmed === '') continue;
    const memberName = memberKey(trimmed);
    if (memberName === key || (memberName.includes('%') && safeDecode(memberName) === key))
      continue;
    merged += `,${trimmed}`;
  }
  return merged;
}

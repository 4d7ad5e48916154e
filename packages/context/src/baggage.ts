// A small W3C Baggage codec (https://www.w3.org/TR/baggage/), without dependencies: find one
// member and merge one member (what a fork id needs on the request path), and a general
// parse/serialize for integrations (`@kubefork/context/integration`). The controller's baggage route (packages/controller/src/routes.ts)
// decides the same way in RE2; change one only together with the other.

/**
 * Limits: 8,192 bytes per header, 180 list members, 4,096 bytes per member. W3C Baggage asks
 * every platform to carry at least 64 members and 8,192 bytes; 180 and 4,096 are what
 * OpenTelemetry's propagators (JavaScript, Java, Go) carry, so we accept what they send.
 */
export const BAGGAGE_MAX_BYTES = 8192;
export const BAGGAGE_MAX_MEMBERS = 180;
export const BAGGAGE_MAX_MEMBER_BYTES = 4096;

export type BaggageLookup =
  /** No member with the key (or no baggage at all). */
  | { kind: 'absent' }
  /** Every member with the key decoded to these values (one entry per member, in order). */
  | { kind: 'found'; values: string[] }
  /** A member with the key could not be decoded. */
  | { kind: 'malformed'; raw: string }
  /** Over the W3C limits: the whole header is ignored, as a conforming receiver may do. */
  | { kind: 'too-large'; raw: string };

/** Index of the first character of `text` from `start` that is not optional whitespace (SP, HTAB). */
function skipOws(text: string, start: number, end: number): number {
  let index = start;
  while (index < end) {
    const code = text.charCodeAt(index);
    if (code !== 0x20 && code !== 0x09) break;
    index++;
  }
  return index;
}

/** Index after the last character of `text` before `end` that is not optional whitespace. */
function skipOwsBack(text: string, start: number, end: number): number {
  let index = end;
  while (index > start) {
    const code = text.charCodeAt(index - 1);
    if (code !== 0x20 && code !== 0x09) break;
    index--;
  }
  return index;
}

/**
 * A list member split at its first `=` and first `;`: the key (text before whichever comes first)
 * and the raw value (between `=` and `;`), each trimmed of optional whitespace only; `value` is
 * undefined when there is no `=` before the first `;`. Nothing is decoded here.
 */
function splitMember(member: string): { key: string; value: string | undefined } {
  const equals = member.indexOf('=');
  const semi = member.indexOf(';');
  const keyEnd =
    equals === -1 || (semi !== -1 && semi < equals) ? (semi === -1 ? member.length : semi) : equals;
  const keyStart = skipOws(member, 0, keyEnd);
  const key = member.slice(keyStart, skipOwsBack(member, keyStart, keyEnd));
  if (keyEnd !== equals) return { key, value: undefined };
  const valueEnd = semi === -1 ? member.length : semi;
  const valueStart = skipOws(member, equals + 1, valueEnd);
  return { key, value: member.slice(valueStart, skipOwsBack(member, valueStart, valueEnd)) };
}

/**
 * Percent-decodes a raw value (already trimmed: W3C trims optional whitespace before decoding, so
 * `%20` is part of the value). Undefined for a bad escape or bytes that are not UTF-8: W3C asks for
 * U+FFFD there, but a fork id holds no U+FFFD either way, and "malformed" says more.
 */
function decodeValue(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * The bytes of a received baggage value that count toward its 8,192-byte limit: every UTF-8 byte
 * but spaces, tabs and the other ASCII control characters. Whitespace is where two copies of one
 * request's header differ (node:http joins repeated headers with ", ", Envoy with ","; optional
 * whitespace around members is the sender's choice), so counting only the rest lets the SDK and
 * the mesh (`baggageLimitRegex` of @kubefork/controller, which counts the same bytes) agree
 * exactly on which header is too large.
 */
function countedBytes(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) {
      if (code > 0x20 && code !== 0x7f) count += 1;
    } else if (code < 0x800 || (code >= 0xd800 && code < 0xe000)) {
      count += 2; // two-byte characters, and each half of a four-byte one
    } else {
      count += 3;
    }
  }
  return count;
}

function utf8Length(text: string): number {
  // Header values are byte strings; most are ASCII, where length is the byte count.
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) return Buffer.byteLength(text);
  }
  return text.length;
}

/**
 * Finds every member named `key` in a W3C `baggage` value. Keys are compared as they are, never
 * decoded; values are trimmed of optional whitespace, then percent-decoded; properties after `;`
 * are ignored; empty list members are skipped; members of other keys are never decoded, so a
 * malformed one does not affect ours.
 *
 * Over 180 non-empty members or 8,192 bytes the whole header is `too-large`. The bytes counted
 * are those that are not whitespace (see `countedBytes`), so the mesh, which counts the same bytes
 * of Envoy's copy of the header, refuses exactly what we refuse.
 */
export function lookupBaggage(baggage: string, key: string): BaggageLookup {
  const values: string[] = [];
  let malformed: string | undefined;
  let members = 0;
  let start = 0;
  while (start <= baggage.length) {
    let end = baggage.indexOf(',', start);
    if (end === -1) end = baggage.length;
    const first = skipOws(baggage, start, end);
    const last = skipOwsBack(baggage, first, end);
    start = end + 1;
    if (first === last) continue;
    if (++members > BAGGAGE_MAX_MEMBERS) return { kind: 'too-large', raw: baggage };
    const member = baggage.slice(first, last);
    // Cheap pre-check before splitting: most members are not ours.
    if (!member.startsWith(key)) continue;
    const parts = splitMember(member);
    if (parts.key !== key) continue;
    const value = parts.value === undefined ? '' : decodeValue(parts.value);
    if (value === undefined) malformed ??= member;
    else values.push(value);
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: shorter values cannot be over the limit.
  if (baggage.length > BAGGAGE_MAX_BYTES / 3 && countedBytes(baggage) > BAGGAGE_MAX_BYTES) {
    return { kind: 'too-large', raw: baggage };
  }
  if (malformed !== undefined) return { kind: 'malformed', raw: malformed };
  return values.length > 0 ? { kind: 'found', values } : { kind: 'absent' };
}

/**
 * Returns `existing` with our member set to `key=value`: every member named `key` is removed and
 * ours is put first; every other member is kept as it was, properties included, and empty
 * members are dropped. The result keeps the W3C limits (8,192 bytes, 180 members): when
 * `existing` would break them, whole members are dropped from the end until both hold. Ours
 * always survives (a fork must not be lost to a receiver, such as OpenTelemetry Go or Java, that
 * drops an oversize header whole). `existing` may be undefined or empty.
 *
 * @example
 * mergeBaggage('userId=42,x-fork-identifier=bob', 'x-fork-identifier', 'alice')
 * // 'x-fork-identifier=alice,userId=42'
 */
export function mergeBaggage(existing: string | undefined, key: string, value: string): string {
  const ours = `${key}=${encodeURIComponent(value)}`;
  if (existing === undefined || existing === '') return ours;
  let merged = ours;
  let members = 1;
  let bytes = utf8Length(ours);
  let start = 0;
  while (start <= existing.length && members < BAGGAGE_MAX_MEMBERS) {
    let end = existing.indexOf(',', start);
    if (end === -1) end = existing.length;
    const first = skipOws(existing, start, end);
    const last = skipOwsBack(existing, first, end);
    start = end + 1;
    if (first === last) continue;
    const member = existing.slice(first, last);
    if (member.startsWith(key) && splitMember(member).key === key) continue;
    const size = utf8Length(member) + 1;
    // Members are dropped whole, from the end: the first one that does not fit ends the list.
    if (bytes + size > BAGGAGE_MAX_BYTES) break;
    merged += `,${member}`;
    bytes += size;
    members++;
  }
  return merged;
}

/** One W3C baggage list member: key, decoded value, and its properties as written (if any). */
export interface BaggageMember {
  key: string;
  value: string;
  /**
   * The member's properties as written after its first `;`, undecoded, without optional
   * whitespace around `;` and `=`: `prop1=v1;prop2`.
   */
  properties?: string;
}

/** RFC 9110 tchar: what a baggage key (a token) is made of. */
function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code <= 0x20 || code >= 0x7f) return false;
    // separators: "(),/:;<=>?@[\]{}
    if ('"(),/:;<=>?@[\\]{}'.includes(text[index] as string)) return false;
  }
  return true;
}

/** W3C baggage-octet (%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E): a raw value's characters. */
function isBaggageValue(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (
      code < 0x21 ||
      code > 0x7e ||
      code === 0x22 ||
      code === 0x2c ||
      code === 0x3b ||
      code === 0x5c
    ) {
      return false;
    }
  }
  return true;
}

/** One list member, or undefined when it is not a valid one (W3C: such members are ignored). */
function parseMember(member: string): BaggageMember | undefined {
  const semi = member.indexOf(';');
  const pair = semi === -1 ? member : member.slice(0, semi);
  const equals = pair.indexOf('=');
  if (equals === -1) return undefined;
  const key = pair.slice(skipOws(pair, 0, equals), skipOwsBack(pair, 0, equals));
  const valueStart = skipOws(pair, equals + 1, pair.length);
  const raw = pair.slice(valueStart, skipOwsBack(pair, valueStart, pair.length));
  if (!isToken(key) || !isBaggageValue(raw)) return undefined;
  const value = decodeValue(raw);
  if (value === undefined) return undefined;
  if (semi === -1) return { key, value };
  const properties = normalizeProperties(member.slice(semi + 1));
  return properties === '' ? { key, value } : { key, value, properties };
}

/** Properties without optional whitespace around `;` and `=` and without empty ones. */
function normalizeProperties(text: string): string {
  let result = '';
  for (const property of text.split(';')) {
    const equals = property.indexOf('=');
    const part =
      equals === -1
        ? property.trim()
        : `${property.slice(0, equals).trim()}=${property.slice(equals + 1).trim()}`;
    if (part === '' || part === '=') continue;
    result = result === '' ? part : `${result};${part}`;
  }
  return result;
}

/**
 * Parses a W3C `baggage` header value into its members, in order. Optional whitespace around
 * keys, values, properties and members is trimmed; values are percent-decoded (keys are tokens
 * and stay as they are); properties are kept undecoded. Invalid members (no `=`, a key that is not a
 * token, characters a value may not hold, a bad percent escape) are ignored, as are empty
 * members and members over 4,096 bytes. Parsing stops after 180 members or when the members kept
 * would exceed 8,192 bytes. A key may occur more than once; the caller decides (OpenTelemetry:
 * the last wins).
 *
 * @example
 * parseBaggage('userId=alice%20b, flag=1;ttl=30')
 * // [{ key: 'userId', value: 'alice b' }, { key: 'flag', value: '1', properties: 'ttl=30' }]
 */
export function parseBaggage(header: string): BaggageMember[] {
  const members: BaggageMember[] = [];
  let bytes = 0;
  let start = 0;
  while (start < header.length && members.length < BAGGAGE_MAX_MEMBERS) {
    let end = header.indexOf(',', start);
    if (end === -1) end = header.length;
    const first = skipOws(header, start, end);
    const last = skipOwsBack(header, first, end);
    start = end + 1;
    if (first === last) continue;
    const text = header.slice(first, last);
    const size = utf8Length(text);
    if (size > BAGGAGE_MAX_MEMBER_BYTES) continue;
    const member = parseMember(text);
    if (member === undefined) continue;
    const added = (members.length === 0 ? 0 : 1) + size;
    if (bytes + added > BAGGAGE_MAX_BYTES) break;
    bytes += added;
    members.push(member);
  }
  return members;
}

/**
 * Serializes members into a W3C `baggage` header value exactly as OpenTelemetry's
 * `W3CBaggagePropagator` does: `key=value` with both percent-encoded (`encodeURIComponent`),
 * properties appended after `;` as given; members over 4,096 bytes are dropped, at most 180 are
 * kept, and a member that would take the header over 8,192 bytes is left out. Returns `''`
 * when nothing is left.
 *
 * @example
 * serializeBaggage([{ key: 'userId', value: 'alice b' }, { key: 'flag', value: '1', properties: 'ttl=30' }])
 * // 'userId=alice%20b,flag=1;ttl=30'
 */
export function serializeBaggage(members: Iterable<BaggageMember>): string {
  let header = '';
  let count = 0;
  for (const { key, value, properties } of members) {
    if (count === BAGGAGE_MAX_MEMBERS) break;
    let pair = `${encodeURIComponent(key)}=${encodeURIComponent(value)}`;
    if (properties !== undefined) pair += `;${properties}`;
    if (pair.length > BAGGAGE_MAX_MEMBER_BYTES) continue;
    count++;
    const next = header === '' ? pair : `${header},${pair}`;
    if (next.length <= BAGGAGE_MAX_BYTES) header = next;
  }
  return header;
}

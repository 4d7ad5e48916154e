// The bad-input corpus: hostile fork-id headers, each with what every server integration must
// make of it. Over HTTP/1.1 the header lines go out byte for byte on a raw socket; over gRPC
// the same fields go out in hand-written HTTP/2 frames (see raw-http.ts, raw-h2.ts).
import type { InvalidReason } from '@kubefork/context';

/**
 * What must become of a hostile input. Every outcome leaves the service up, the request
 * without a fork and the downstream services without a fork header.
 * - `{ invalid }`: it reaches the integration, which serves the request as baseline and tells
 *   `onInvalid` this reason.
 * - `not-a-fork-id`: nothing in it claims to be our fork id (another header, a baggage
 *   property, a foreign key); served as baseline, `onInvalid` is not told.
 * - `refused`: HTTP/1.1 only. Node's HTTP parser answers 400 (or 431) before any integration
 *   code runs; `onInvalid` cannot be told.
 * - `dropped`: gRPC only. The HTTP/2 layer resets the stream (RFC 9113 §8.2.1 makes the field
 *   malformed) or grpc-js drops the metadata value (it keeps printable ASCII only) before any
 *   interceptor runs; either way `onInvalid` cannot be told, and an answer is baseline.
 */
export type Outcome = { invalid: InvalidReason } | 'not-a-fork-id' | 'refused' | 'dropped';

export interface HostileInput {
  /** Says what is hostile about it; becomes the test name. */
  readonly name: string;
  /** HTTP/1.1 header lines without their CRLF (strings are sent as Latin-1 octets). */
  readonly lines: readonly (string | Buffer)[];
  /** HTTP/2 fields; default: each line split at its first colon, optional whitespace trimmed. */
  readonly fields?: readonly (readonly [string | Buffer, string | Buffer])[];
  readonly http: Outcome;
  readonly grpc: Outcome;
}

const H = 'x-fork-identifier';
const utf8 = (text: string) => Buffer.from(text, 'utf8');

function members(count: number, last?: string): string {
  const list = Array.from({ length: count }, (_, i) => `member${i}=value${i}`);
  if (last !== undefined) list.push(last);
  return list.join(',');
}

export const HOSTILE_INPUTS: readonly HostileInput[] = [
  // Empty and whitespace.
  {
    name: 'an empty value',
    lines: [`${H}:`],
    http: { invalid: 'empty' },
    grpc: { invalid: 'empty' },
  },
  {
    name: 'a value of spaces only',
    lines: [`${H}:     `],
    fields: [[H, '     ']],
    http: { invalid: 'empty' },
    // HTTP/2 forbids leading and trailing whitespace in a field value (RFC 9113 §8.2.1).
    grpc: 'dropped',
  },
  {
    name: 'a space inside',
    lines: [`${H}: al ice`],
    http: { invalid: 'characters' },
    grpc: { invalid: 'characters' },
  },
  {
    name: 'a tab inside',
    lines: [`${H}: al\tice`],
    http: { invalid: 'characters' },
    grpc: 'dropped',
  },
  // Control characters, CRLF and header injection.
  { name: 'a bare CR inside', lines: [`${H}: ali\rce`], http: 'refused', grpc: 'dropped' },
  { name: 'a bare LF inside', lines: [`${H}: ali\nce`], http: 'refused', grpc: 'dropped' },
  {
    name: 'CRLF injecting a second fork header',
    lines: [`${H}: alice\r\n${H}: bob`],
    fields: [[H, `alice\r\n${H}: bob`]],
    http: { invalid: 'ambiguous' },
    grpc: 'dropped',
  },
  {
    name: 'an obs-fold continuation line',
    lines: [`${H}: alice\r\n bob`],
    fields: [[H, 'alice\r\n bob']],
    http: 'refused',
    grpc: 'dropped',
  },
  { name: 'a NUL inside', lines: [`${H}: ali\0ce`], http: 'refused', grpc: 'dropped' },
  { name: 'a NUL at the end', lines: [`${H}: alice\0`], http: 'refused', grpc: 'dropped' },
  { name: 'a DEL inside', lines: [`${H}: ali\x7fce`], http: 'refused', grpc: 'dropped' },
  {
    name: 'a terminal escape sequence',
    lines: [`${H}: \x1b[31malice`],
    http: 'refused',
    grpc: 'dropped',
  },
  // Length.
  {
    name: 'a 10 KB value',
    lines: [`${H}: ${'a'.repeat(10_240)}`],
    http: { invalid: 'too-long' },
    grpc: { invalid: 'too-long' },
  },
  {
    name: 'one character over the limit (64)',
    lines: [`${H}: ${'a'.repeat(64)}`],
    http: { invalid: 'too-long' },
    grpc: { invalid: 'too-long' },
  },
  // Non-ASCII.
  {
    name: 'UTF-8 letters',
    lines: [utf8(`${H}: ålice`)],
    http: { invalid: 'characters' },
    grpc: 'dropped',
  },
  { name: 'an emoji', lines: [utf8(`${H}: 🍴`)], http: { invalid: 'characters' }, grpc: 'dropped' },
  {
    name: 'a Latin-1 octet',
    lines: [`${H}: caf\xe9`],
    http: { invalid: 'characters' },
    grpc: 'dropped',
  },
  {
    name: 'a Cyrillic homoglyph of alice',
    lines: [utf8(`${H}: \u0430lice`)],
    http: { invalid: 'characters' },
    grpc: 'dropped',
  },
  {
    name: 'a zero-width space',
    lines: [utf8(`${H}: al\u200bice`)],
    http: { invalid: 'characters' },
    grpc: 'dropped',
  },
  // Lists and duplicates.
  {
    name: 'a comma-separated list',
    lines: [`${H}: alice,bob`],
    http: { invalid: 'ambiguous' },
    grpc: { invalid: 'ambiguous' },
  },
  {
    name: 'a list with optional whitespace',
    lines: [`${H}: alice, bob`],
    http: { invalid: 'ambiguous' },
    grpc: { invalid: 'ambiguous' },
  },
  {
    name: 'a lone comma',
    lines: [`${H}: ,`],
    http: { invalid: 'empty' },
    grpc: { invalid: 'empty' },
  },
  {
    name: 'the header twice with different values',
    lines: [`${H}: alice`, `${H}: bob`],
    http: { invalid: 'ambiguous' },
    grpc: { invalid: 'ambiguous' },
  },
  {
    name: 'twenty copies of one value and one other',
    lines: [...Array.from({ length: 20 }, () => `${H}: alice`), `${H}: bob`],
    http: { invalid: 'ambiguous' },
    grpc: { invalid: 'ambiguous' },
  },
  // Header names in odd case (HTTP/2 forbids upper case: the stream is malformed).
  {
    name: 'the header twice in different case with different values',
    lines: ['X-Fork-Identifier: alice', 'x-FORK-identifier: bob'],
    http: { invalid: 'ambiguous' },
    grpc: 'dropped',
  },
  {
    name: 'an upper-case name with an invalid value',
    lines: ['X-FORK-IDENTIFIER: ../etc'],
    http: { invalid: 'pattern' },
    grpc: 'dropped',
  },
  {
    name: 'a space before the colon',
    lines: ['X-Fork-Identifier : alice'],
    http: 'refused',
    grpc: 'dropped',
  },
  // Printable, but not a fork id.
  {
    name: 'a leading dash',
    lines: [`${H}: -alice`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a leading dot',
    lines: [`${H}: .alice`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a path traversal',
    lines: [`${H}: ../../etc/passwd`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a semicolon',
    lines: [`${H}: alice;bob`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'double quotes',
    lines: [`${H}: "alice"`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a percent-encoded CRLF',
    lines: [`${H}: alice%0d%0a`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a wildcard',
    lines: [`${H}: *`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a regular expression',
    lines: [`${H}: alice|bob`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: '__proto__',
    lines: [`${H}: __proto__`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'a shell substitution',
    lines: [`${H}: $(reboot)`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  {
    name: 'markup',
    lines: [`${H}: <script>alert(1)</script>`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  // W3C baggage.
  {
    name: 'baggage with 500 members, ours last',
    lines: [`baggage: ${members(500, `${H}=alice`)}`],
    http: { invalid: 'too-large' },
    grpc: { invalid: 'too-large' },
  },
  {
    name: 'baggage with 500 members, none ours',
    lines: [`baggage: ${members(500)}`],
    http: { invalid: 'too-large' },
    grpc: { invalid: 'too-large' },
  },
  {
    name: 'baggage over 8,192 bytes',
    lines: [`baggage: ${H}=alice,padding=${'x'.repeat(8_200)}`],
    http: { invalid: 'too-large' },
    grpc: { invalid: 'too-large' },
  },
  {
    name: 'baggage with a bad percent escape',
    lines: [`baggage: ${H}=%zz`],
    http: { invalid: 'malformed' },
    grpc: { invalid: 'malformed' },
  },
  {
    name: 'baggage with a truncated percent escape',
    lines: [`baggage: ${H}=al%`],
    http: { invalid: 'malformed' },
    grpc: { invalid: 'malformed' },
  },
  {
    name: 'baggage with an empty value',
    lines: [`baggage: ${H}=`],
    http: { invalid: 'empty' },
    grpc: { invalid: 'empty' },
  },
  {
    name: 'baggage with our member twice',
    lines: [`baggage: ${H}=alice,${H}=bob`],
    http: { invalid: 'ambiguous' },
    grpc: { invalid: 'ambiguous' },
  },
  {
    name: 'baggage with a percent-encoded LF',
    lines: [`baggage: ${H}=ali%0Ace`],
    http: { invalid: 'characters' },
    grpc: { invalid: 'characters' },
  },
  {
    name: 'baggage with a percent-encoded comma',
    lines: [`baggage: ${H}=alice%2Cbob`],
    http: { invalid: 'characters' },
    grpc: { invalid: 'characters' },
  },
  {
    name: 'baggage with a space in our value',
    lines: [`baggage: ${H}=al ice`],
    http: { invalid: 'characters' },
    grpc: { invalid: 'characters' },
  },
  {
    name: 'two baggage headers with different values',
    lines: [`baggage: ${H}=alice`, `baggage: ${H}=bob`],
    http: { invalid: 'ambiguous' },
    grpc: { invalid: 'ambiguous' },
  },
  {
    name: 'baggage that is only separators',
    lines: ['baggage: ;;;,,,==,='],
    http: 'not-a-fork-id',
    grpc: 'not-a-fork-id',
  },
  {
    name: 'baggage with our key in upper case',
    lines: [`baggage: ${H.toUpperCase()}=alice`],
    http: 'not-a-fork-id',
    grpc: 'not-a-fork-id',
  },
  {
    name: 'baggage with our key as a property only',
    lines: [`baggage: userId=1;${H}=alice`],
    http: 'not-a-fork-id',
    grpc: 'not-a-fork-id',
  },
  {
    name: 'an invalid header next to valid baggage (no fallback to baggage)',
    lines: [`${H}: ../x`, `baggage: ${H}=alice`],
    http: { invalid: 'pattern' },
    grpc: { invalid: 'pattern' },
  },
  // Other keys, gRPC binary metadata.
  {
    name: 'the misspelt header x-fork-identifer',
    lines: ['x-fork-identifer: alice'],
    http: 'not-a-fork-id',
    grpc: 'not-a-fork-id',
  },
  {
    name: 'our key as gRPC binary metadata (-bin)',
    lines: [`${H}-bin: ${Buffer.from('alice').toString('base64')}`],
    http: 'not-a-fork-id',
    grpc: { invalid: 'malformed' },
  },
  {
    name: 'a -bin key with invalid base64',
    lines: [`${H}-bin: !!!`],
    http: 'not-a-fork-id',
    grpc: { invalid: 'malformed' },
  },
  {
    name: 'baggage as gRPC binary metadata (baggage-bin)',
    lines: [`baggage-bin: ${Buffer.from(`${H}=alice`).toString('base64')}`],
    http: 'not-a-fork-id',
    grpc: 'not-a-fork-id',
  },
];

/** The HTTP/2 fields of an input: its own, or its lines split at the first colon. */
export function fieldsOf(
  input: HostileInput,
): readonly (readonly [string | Buffer, string | Buffer])[] {
  if (input.fields !== undefined) return input.fields;
  return input.lines.map((line) => {
    const raw = typeof line === 'string' ? Buffer.from(line, 'latin1') : line;
    const colon = raw.indexOf(':');
    let start = colon + 1;
    let end = raw.length;
    while (start < end && (raw[start] === 0x20 || raw[start] === 0x09)) start++;
    while (end > start && (raw[end - 1] === 0x20 || raw[end - 1] === 0x09)) end--;
    return [raw.subarray(0, colon), raw.subarray(start, end)] as const;
  });
}

// The bad-input corpus (hostile-inputs.ts) for message brokers. A broker carries a header value
// byte for byte (no HTTP parser refuses anything first), so each input reaches the consumer as
// written. Where the corpus's HTTP outcome comes from Node's HTTP parser, this says what the SDK
// itself must make of the value; a broker's client library may differ again (`overrides`).
import type { InvalidReason } from '@kubefork/context';
import { fieldsOf, HOSTILE_INPUTS, type HostileInput } from './hostile-inputs.js';

export type MessageOutcome =
  | { invalid: InvalidReason }
  | 'not-a-fork-id'
  /** The client library hands the consumer a valid fork (a documented limit of that client). */
  | { fork: string };

/** Inputs whose HTTP outcome is not what a message broker delivers. */
const OVERRIDES = new Map<string, MessageOutcome>(
  Object.entries({
    'a bare CR inside': { invalid: 'characters' },
    'a bare LF inside': { invalid: 'characters' },
    // In HTTP the CRLF starts a second header line; in a message it is one value with a CR in it.
    'CRLF injecting a second fork header': { invalid: 'characters' },
    'an obs-fold continuation line': { invalid: 'characters' },
    'a NUL inside': { invalid: 'characters' },
    'a NUL at the end': { invalid: 'characters' },
    'a DEL inside': { invalid: 'characters' },
    'a terminal escape sequence': { invalid: 'characters' },
    // The name is "X-Fork-Identifier " (trailing space): not our header.
    'a space before the colon': 'not-a-fork-id',
  } satisfies Record<string, MessageOutcome>),
);

export function messageOutcome(
  input: HostileInput,
  overrides: ReadonlyMap<string, MessageOutcome> = new Map(),
): MessageOutcome {
  // Maps: one input is named __proto__.
  const override = overrides.get(input.name) ?? OVERRIDES.get(input.name);
  if (override !== undefined) return override;
  if (input.http === 'refused' || input.http === 'dropped') {
    throw new Error(`no message outcome for "${input.name}": add one to OVERRIDES`);
  }
  return input.http;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function text(value: string | Buffer): string | Buffer {
  if (typeof value === 'string') return value;
  try {
    return STRICT_UTF8.decode(value);
  } catch {
    return value;
  }
}

/**
 * The input as an AMQP header table. Text that is valid UTF-8 goes as a string (`S`), anything
 * else as a byte array (`x`): a name given twice becomes a list (an AMQP array). */
export function headerTableOf(input: HostileInput): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const [rawName, rawValue] of fieldsOf(input)) {
    const name = typeof rawName === 'string' ? rawName : rawName.toString('latin1');
    const value = text(rawValue);
    const previous = table[name];
    if (previous === undefined) table[name] = value;
    else table[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return table;
}

export { HOSTILE_INPUTS, type HostileInput };

/** The fork the handler must run in: none, except where a client library hands one over. */
export function expectedFork(outcome: MessageOutcome): string | undefined {
  return typeof outcome === 'object' && 'fork' in outcome ? outcome.fork : undefined;
}

/** What `onInvalid` must be told. */
export function expectedReasons(outcome: MessageOutcome): InvalidReason[] {
  return typeof outcome === 'object' && 'invalid' in outcome ? [outcome.invalid] : [];
}

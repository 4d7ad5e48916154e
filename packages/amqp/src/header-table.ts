import type { HeaderAccess } from '@kubefork/context/integration';

/**
 * An AMQP header table as amqplib holds it (`options.headers` when publishing,
 * `message.properties.headers` when consuming): names of any case, values of any AMQP field
 * type (strings, numbers, booleans, Buffers, arrays, nested tables).
 */
export type HeaderTable = Record<string, unknown>;

/** Keys of `table` equal to `name` (lower case) in any case, in table order. */
function keysOf(table: HeaderTable, name: string): string[] {
  const keys: string[] = [];
  for (const key in table) {
    if (key.length === name.length && (key === name || key.toLowerCase() === name)) keys.push(key);
  }
  return keys;
}

/**
 * A header value as text: strings as they are, numbers written out, Buffers (the AMQP byte
 * array `x`, which some clients use for strings) decoded as UTF-8, lists element by element.
 * Anything else (a boolean, a nested table, a timestamp) is not text; it becomes a description
 * with a space in it, which no fork id can contain, so the core refuses it and tells `onInvalid`
 * rather than reading the header as absent and falling back to a lower-precedence source.
 */
export function textOf(value: unknown): string | string[] {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.flatMap((item) => textOf(item));
  return `[not text: ${value === null ? 'null' : typeof value}]`;
}

/**
 * How the core reads and writes an outbound header table. A header the caller wrote in other
 * case is the same header (AMQP keys are case-sensitive, but HTTP's are not and a message's
 * headers often become an HTTP request's); `set` writes under the caller's spelling and drops
 * other spellings, so a table never holds two baggage entries.
 */
export const tableAccess: HeaderAccess<HeaderTable> = {
  get(table, name) {
    const keys = keysOf(table, name);
    if (keys.length === 0) return undefined;
    const values = keys.flatMap((key) => textOf(table[key]));
    return values.join(', ');
  },
  set(table, name, value) {
    const [first = name, ...others] = keysOf(table, name);
    for (const key of others) delete table[key];
    table[first] = value;
  },
};

/**
 * An inbound header table as the core's `extractForkId` reads it: the table itself when every
 * value is text already (the common case, no copy), otherwise a copy with values turned to text.
 */
export function inboundCarrier(table: HeaderTable): Record<string, string | string[]> {
  for (const key in table) {
    const value = table[key];
    if (typeof value !== 'string' && typeof value !== 'number') return textTable(table);
  }
  return table as Record<string, string>;
}

function textTable(table: HeaderTable): Record<string, string | string[]> {
  const copy: Record<string, string | string[]> = Object.create(null);
  for (const key in table) copy[key] = textOf(table[key]);
  return copy;
}

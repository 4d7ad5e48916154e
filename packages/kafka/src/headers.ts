import { extractForkId, type ForkConfig } from '@kubefork/context';
import { forkConfig, type HeaderAccess } from '@kubefork/context/integration';

/**
 * A message's headers as Kafka clients hold them: KafkaJS uses a plain object whose values are
 * strings or Buffers, or arrays of them when a key repeats; `@platformatic/kafka` uses a `Map`.
 */
export type KafkaHeaders = Record<string, unknown> | Map<unknown, unknown>;

/**
 * The text of one header value: strings as they are, bytes decoded as UTF-8 (KafkaJS encodes a
 * string header that way, so a value round-trips). Anything else is not a header value we read.
 */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  }
  return undefined;
}

function pushText(out: string[], value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      const decoded = text(item);
      if (decoded !== undefined) out.push(decoded);
    }
    return;
  }
  const decoded = text(value);
  if (decoded !== undefined) out.push(decoded);
}

/** True when `key` may be a name the core reads: the header, `baggage` or an alias, in any case. */
function isForkKey(key: string, config: ForkConfig): boolean {
  // Comparing lengths first keeps the common miss (traceparent, content-type…) to integer compares.
  const length = key.length;
  if (length === config.header.length || length === 7) {
    const name = key.toLowerCase();
    if (name === config.header || name === 'baggage') return true;
  }
  for (const alias of config.aliases) {
    if (alias.length === length && key.toLowerCase() === alias) return true;
  }
  return false;
}

/** Adds one header to the carrier handed to `extractForkId`, keyed as it was written. */
function collect(
  carrier: Map<string, string[]> | undefined,
  key: unknown,
  value: unknown,
  config: ForkConfig,
): Map<string, string[]> | undefined {
  if (typeof key !== 'string' || !isForkKey(key, config)) return carrier;
  const out = carrier ?? new Map<string, string[]>();
  const values = out.get(key) ?? [];
  pushText(values, value);
  out.set(key, values);
  return out;
}

/**
 * The fork id a consumed message carries, or undefined. Only the keys the core reads are handed
 * to `extractForkId` (the header, its aliases, `baggage`), decoded to text, each key as it was
 * written: Kafka header names are case-sensitive bytes, and two spellings of our header with
 * different values must stay ambiguous, as in HTTP. Never throws: a hostile carrier (throwing
 * getter, proxy) carries no fork.
 */
export function forkIdOfHeaders(headers: unknown): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  try {
    const config = forkConfig();
    let carrier: Map<string, string[]> | undefined;
    if (headers instanceof Map) {
      for (const [key, value] of headers) carrier = collect(carrier, key, value, config);
    } else {
      // Own enumerable keys, as KafkaJS builds the object; no entries array per message.
      const record = headers as Record<string, unknown>;
      for (const key of Object.keys(record)) carrier = collect(carrier, key, record[key], config);
    }
    return carrier === undefined ? undefined : extractForkId(carrier);
  } catch {
    return undefined;
  }
}

/**
 * How `injectForkHeaders` reads and writes an outbound KafkaJS message's headers (a plain object
 * the wrapper owns). Reading matches names in any case and decodes Buffers, so a value the caller
 * wrote as a Buffer or under `X-Fork-Identifier` still counts as set; writing replaces every
 * spelling of the name with one string value.
 */
export const recordHeaders: HeaderAccess<Record<string, unknown>> = {
  get(headers, name) {
    const values: string[] = [];
    let present = false;
    for (const key of Object.keys(headers)) {
      if (key.length !== name.length || key.toLowerCase() !== name) continue;
      if (headers[key] === undefined) continue;
      present = true;
      pushText(values, headers[key]);
    }
    return present ? values.join(', ') : undefined;
  },
  set(headers, name, value) {
    for (const key of Object.keys(headers)) {
      if (key !== name && key.length === name.length && key.toLowerCase() === name) {
        delete headers[key];
      }
    }
    headers[name] = value;
  },
};

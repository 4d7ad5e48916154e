import type { HeadersLike } from '@kubefork/context';
import type { TextMapGetter } from '@opentelemetry/api';

/**
 * Presents an OpenTelemetry carrier as the `HeadersLike` that `extractForkId` reads, so that
 * inbound validation and precedence stay the core's. Names are looked up through the getter as
 * given (lower case), as OpenTelemetry's own propagators do; an array value (a header sent
 * twice) is joined the way HTTP joins a list. Remembers whether any header it was asked for was
 * present.
 */
export class CarrierHeaders<C> implements HeadersLike {
  readonly #carrier: C;
  readonly #getter: TextMapGetter<C>;
  #sawAny = false;

  constructor(carrier: C, getter: TextMapGetter<C>) {
    this.#carrier = carrier;
    this.#getter = getter;
  }

  /** True when a header that `extractForkId` asked for was present (valid or not). */
  get sawAny(): boolean {
    return this.#sawAny;
  }

  get(name: string): string | null {
    const value = joined(this.#getter.get(this.#carrier, name));
    if (value === undefined) return null;
    this.#sawAny = true;
    return value;
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const name of this.#getter.keys(this.#carrier)) {
      const value = joined(this.#getter.get(this.#carrier, name));
      if (value !== undefined) callback(value, name);
    }
  }
}

/**
 * One carrier value as text. Message headers may hold bytes (KafkaJS delivers Buffers and lets
 * callers set them): decoded as UTF-8, so a fork header a caller set as a Buffer is seen and wins.
 */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  }
  return undefined;
}

function joined(value: unknown): string | undefined {
  if (!Array.isArray(value)) return text(value);
  const strings: string[] = [];
  for (const item of value) {
    const decoded = text(item);
    if (decoded !== undefined) strings.push(decoded);
  }
  return strings.length === 0 ? undefined : strings.join(', ');
}

/**
 * Reads header `name` (lower case) from a plain-object carrier, across differently cased keys:
 * what the caller or an earlier propagator already wrote. `undefined` when absent, or when the
 * carrier is not a plain object (its content cannot be read without a getter).
 */
export function readPlainHeader(carrier: unknown, name: string): string | undefined {
  if (!isPlainObject(carrier)) return undefined;
  let out: string | undefined;
  for (const key in carrier) {
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    const value = joined(typeof carrier[key] === 'number' ? String(carrier[key]) : carrier[key]);
    if (value !== undefined) out = out === undefined ? value : `${out}, ${value}`;
  }
  return out;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

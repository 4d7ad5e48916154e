import type { IncomingHttpHeaders } from 'node:http';

/** One header's value as the supported carriers hold it. */
export type HeaderValue = string | readonly string[] | number | null | undefined;

/** Anything with a `get(name)` that answers case-insensitively, like WHATWG `Headers`. */
export interface HeadersLike {
  get(name: string): string | null;
  forEach(callback: (value: string, name: string) => void): void;
}

/**
 * The header carriers `extractForkId` reads: Node's `IncomingHttpHeaders` (lower-case keys),
 * WHATWG `Headers`, a `Map`, or a plain object whose keys may be in any case.
 */
export type HeaderBag =
  | IncomingHttpHeaders
  | HeadersLike
  | ReadonlyMap<string, HeaderValue>
  | Readonly<Record<string, HeaderValue>>;

function push(out: string[], value: unknown): void {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number') out.push(String(value));
  else if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'string') out.push(item);
  }
  // Anything else (Buffers of gRPC `-bin` keys, objects) is not a header value we read.
}

/**
 * Every raw value of header `name` (lower-case) in `bag`, across differently cased keys.
 * Returns `undefined` when the header is absent, so callers can tell "absent" from "empty".
 */
export function readHeader(bag: HeaderBag, name: string): string[] | undefined {
  if (bag instanceof Map) {
    let out: string[] | undefined;
    for (const [key, value] of bag as ReadonlyMap<string, HeaderValue>) {
      if (typeof key === 'string' && key.length === name.length && key.toLowerCase() === name) {
        out ??= [];
        push(out, value);
      }
    }
    return out;
  }
  if (typeof (bag as HeadersLike).get === 'function') {
    const value = (bag as HeadersLike).get(name);
    return value === null || value === undefined ? undefined : [value];
  }
  const record = bag as Readonly<Record<string, HeaderValue>>;
  let out: string[] | undefined;
  for (const key in record) {
    // Comparing lengths first keeps the common miss to one integer compare per header.
    if (key.length === name.length && (key === name || key.toLowerCase() === name)) {
      out ??= [];
      push(out, record[key]);
    }
  }
  return out;
}

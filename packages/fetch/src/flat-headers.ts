import type { HeaderAccess } from '@kubefork/context/integration';

/**
 * undici keeps a request's headers as one flat array, `[name, value, name, value, …]`; a value
 * is a string or, for a repeated header given as an array, a string array. Names keep the
 * caller's case.
 */
export type FlatHeaders = unknown[];

function joined(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(', ');
  return value === undefined || value === null ? undefined : String(value);
}

/** True when `key` is the header name `name` (lower-case) in any case. */
export function matches(key: unknown, name: string): boolean {
  return typeof key === 'string' && key.length === name.length && key.toLowerCase() === name;
}

/** The value of header `name` (lower-case), several entries joined with ", ". */
export function readFlat(headers: FlatHeaders, name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (!matches(headers[i], name)) continue;
    const item = joined(headers[i + 1]);
    if (item !== undefined) value = value === undefined ? item : `${value}, ${item}`;
  }
  return value;
}

/**
 * Sets the value of the first entry of `name` in place and removes any later entries, so the
 * header is sent once (appending would send `baggage` twice). Returns false when there is no
 * entry to replace.
 */
export function replaceFlat(headers: FlatHeaders, name: string, value: string): boolean {
  let found = false;
  for (let i = 0; i < headers.length; ) {
    if (!matches(headers[i], name)) {
      i += 2;
    } else if (!found) {
      headers[i + 1] = value;
      found = true;
      i += 2;
    } else {
      headers.splice(i, 2);
    }
  }
  return found;
}

/** Access to a flat header array that the caller owns (a copy made by the interceptor). */
export const flatHeadersAccess: HeaderAccess<FlatHeaders> = {
  get: readFlat,
  set(headers, name, value) {
    if (!replaceFlat(headers, name, value)) headers.push(name, value);
  },
};

import type { OutgoingHttpHeaders } from 'node:http2';
import type { HeaderAccess } from '@kubefork/context/integration';

/**
 * Headers as `ClientHttp2Session#request` takes them: an object whose names may be in any case
 * (Node lower-cases them) and whose values may be strings, numbers or arrays.
 */
export type Http2HeaderObject = OutgoingHttpHeaders;

/** Raw headers, `[name, value, name, value, …]`, which `request` accepts from Node 24 on. */
export type Http2HeaderList = unknown[];

function joined(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** An object's headers, names matched case-insensitively; `set` leaves one lower-case key. */
export const objectHeaderAccess: HeaderAccess<Http2HeaderObject> = {
  get(headers, name) {
    let value: string | undefined;
    for (const key of Object.keys(headers)) {
      if (key.length !== name.length || key.toLowerCase() !== name) continue;
      const own = joined(headers[key]);
      if (own !== undefined) value = value === undefined ? own : `${value}, ${own}`;
    }
    return value;
  },
  set(headers, name, value) {
    for (const key of Object.keys(headers)) {
      if (key.length === name.length && key !== name && key.toLowerCase() === name)
        delete headers[key];
    }
    headers[name] = value;
  },
};

/** A flat list's headers; `set` replaces the first value in place and drops the others. */
export const listHeaderAccess: HeaderAccess<Http2HeaderList> = {
  get(list, name) {
    let value: string | undefined;
    for (let i = 0; i + 1 < list.length; i += 2) {
      const key = list[i];
      if (typeof key !== 'string' || key.toLowerCase() !== name) continue;
      const own = joined(list[i + 1]);
      if (own !== undefined) value = value === undefined ? own : `${value}, ${own}`;
    }
    return value;
  },
  set(list, name, value) {
    let found = false;
    for (let i = 0; i + 1 < list.length; ) {
      const key = list[i];
      if (typeof key === 'string' && key.toLowerCase() === name) {
        if (found) {
          list.splice(i, 2);
          continue;
        }
        found = true;
        list[i + 1] = value;
      }
      i += 2;
    }
    if (!found) list.push(name, value);
  },
};

import type { HeaderAccess } from '@kubefork/context/integration';

/** Reads and writes a WHATWG `Headers` object (case-insensitive, values joined by ", "). */
export const headersAccess: HeaderAccess<Headers> = {
  get: (headers, name) => headers.get(name) ?? undefined,
  set: (headers, name, value) => headers.set(name, value),
};

import { getForkId, isValidForkId } from '@kubefork/context';
import { forkConfig, type HeaderAccess, injectForkHeaders } from '@kubefork/context/integration';
import { type FlatHeaders, readFlat, replaceFlat } from './flat-headers.js';
import { dropRepeatedForkHeader, mergeLaterAdditions } from './other-injectors.js';
import { scopeRequest } from './undici-scope.js';

/**
 * What `undici:request:create` hands out: undici's internal `Request` (undici ≥6, including the
 * copy bundled with Node for global fetch). One is created per dispatch, so every redirect hop
 * and every retry attempt is a new one.
 */
export interface UndiciRequest {
  origin?: string | URL;
  path?: string;
  headers: FlatHeaders;
  addHeader?: (name: string, value: string) => unknown;
}

/** Reads and writes the headers of an undici request. */
const undiciRequestAccess: HeaderAccess<UndiciRequest> = {
  get: (request, name) => readFlat(request.headers, name),
  set(request, name, value) {
    if (replaceFlat(request.headers, name, value)) return;
    if (typeof request.addHeader === 'function') request.addHeader(name, value);
    else request.headers.push(name, value);
  },
};

/**
 * The URL `propagateTo` judges: the request's origin and path (this hop's, for a redirect). An
 * unknown origin gives an empty string, which `propagateTo` never accepts (fails closed).
 */
export function dispatchTarget(origin: string | URL | undefined, path: string | undefined): string {
  if (origin === undefined || origin === null) return '';
  return typeof origin === 'string' ? `${origin}${path ?? ''}` : new URL(path ?? '/', origin).href;
}

/**
 * Adds the current fork to an undici request that has just been created, and keeps the
 * request's callbacks in that fork (see undici-scope.ts). Adds nothing outside a fork, for
 * destinations `propagateTo` rejects, or to a request shape we do not know (undici before 6
 * kept headers as a string). Never throws.
 */
export function onUndiciRequest(request: UndiciRequest): void {
  if (!Array.isArray(request.headers)) return;
  try {
    const id = getForkId();
    if (id !== undefined) {
      const target =
        forkConfig().propagateTo === undefined
          ? undefined
          : dispatchTarget(request.origin, request.path);
      // Another injector may have run before us or run after us (see other-injectors.ts).
      dropRepeatedForkHeader(request.headers, id);
      if (injectForkHeaders(request, undiciRequestAccess, target)) mergeLaterAdditions(request);
    }
    scopeRequest(request, id ?? carriedFork(request.headers));
  } catch {
    // Deliberately ignored: a request we cannot amend goes out as the caller built it.
  }
}

/**
 * The fork a request made outside one carries anyway: set by `forkInterceptor()` when it was
 * dispatched (it may be created later, from a pool's queue) or by the caller.
 */
function carriedFork(headers: FlatHeaders): string | undefined {
  const value = readFlat(headers, forkConfig().header);
  return value !== undefined && isValidForkId(value) ? value : undefined;
}

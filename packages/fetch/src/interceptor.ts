import { getForkId } from '@kubefork/context';
import { forkConfig, type HeaderAccess, injectForkHeaders } from '@kubefork/context/integration';
import { type FlatHeaders, flatHeadersAccess, matches } from './flat-headers.js';
import { dispatchTarget } from './undici-request.js';
import { bindScope, isHandlerCallback } from './undici-scope.js';

/**
 * The parts of undici's `Dispatcher.DispatchOptions` this package reads. Structural, so that
 * using `forkInterceptor` needs no undici types at runtime (undici is not a dependency).
 */
export interface DispatchOptionsLike {
  origin?: string | URL;
  path: string;
  headers?: unknown;
}

/** undici's `Dispatcher['dispatch']`, structurally. */
export type DispatchLike = (options: DispatchOptionsLike, handler: object) => boolean;

/**
 * undici's `Dispatcher.DispatcherComposeInterceptor`, structurally. The dispatch function it is
 * given is typed to accept anything undici's is (its options type is stricter than ours); the
 * one it returns accepts undici's options.
 */
export type DispatcherComposeInterceptor = (
  dispatch: (options: never, handler: never) => boolean,
) => DispatchLike;

type HeaderRecord = Record<string, unknown>;

function recordKeys(record: HeaderRecord, name: string): string[] {
  const keys: string[] = [];
  for (const key in record) {
    if (matches(key, name)) keys.push(key);
  }
  return keys;
}

/** Access to a plain header object that the interceptor owns (a copy of the caller's). */
const recordAccess: HeaderAccess<HeaderRecord> = {
  get(record, name) {
    let value: string | undefined;
    for (const key of recordKeys(record, name)) {
      const item = record[key];
      if (item === undefined || item === null) continue;
      const text = Array.isArray(item) ? item.join(', ') : String(item);
      value = value === undefined ? text : `${value}, ${text}`;
    }
    return value;
  },
  set(record, name, value) {
    for (const key of recordKeys(record, name)) delete record[key];
    record[name] = value;
  },
};

/**
 * A copy of the caller's headers in a shape we can amend without touching theirs (the same
 * options object may be dispatched again, e.g. by a retry): a plain object stays a plain
 * object, anything else (flat array, `[name, value]` pairs, `Headers`, `Map`) becomes a flat
 * array, which undici accepts everywhere.
 */
function copyHeaders(headers: unknown): FlatHeaders | HeaderRecord | undefined {
  if (headers === undefined || headers === null) return [];
  if (typeof headers !== 'object') return undefined;
  if (Array.isArray(headers) && !Array.isArray(headers[0])) return headers.slice();
  if (Symbol.iterator in headers) {
    const flat: FlatHeaders = [];
    for (const pair of headers as Iterable<unknown>) {
      if (!Array.isArray(pair)) return undefined;
      flat.push(pair[0], pair[1]);
    }
    return flat;
  }
  return { ...(headers as HeaderRecord) };
}

/**
 * The handler seen by the interceptors composed outside this one, with every callback run in
 * the context of the dispatch (`bindFork`: its fork, `undefined` for baseline, and every other
 * async-local store). undici calls a response's callbacks in the async context of the
 * connection, i.e. of whichever request opened it; the redirect and retry interceptors
 * dispatch the next hop from those callbacks, so without this a hop on a reused keep-alive
 * connection would be judged in another request's fork. Methods are called on the original
 * handler (classes with `#private` fields need their real `this`).
 */
function scopeHandler(handler: object, fork: string | undefined): object {
  const scope = bindScope();
  const wrapped = new Map<string, unknown>();
  return new Proxy(handler, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || !isHandlerCallback(property)) return value;
      let callback = wrapped.get(property);
      if (callback === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        callback = function inDispatchFork(...args: unknown[]) {
          if (fork === getForkId()) return method.apply(target, args);
          return scope(method, target, args);
        };
        wrapped.set(property, callback);
      }
      return callback;
    },
  });
}

/**
 * An undici interceptor that adds the current fork to every request of the dispatcher it is
 * composed into, for code that prefers an explicit, per-dispatcher opt-in to the process-wide
 * `instrumentFetch()` (both together still send the header once).
 *
 * - Compose it *before* `interceptors.redirect()` and `interceptors.retry()` (innermost), so that
 *   it runs again for every hop and attempt, in the fork of the original request, and
 *   `propagateTo` judges each redirect target; composed after them, the headers it adds to the
 *   first request are carried to every hop.
 * - A dispatcher with a `connections` limit queues requests and sends them later from another
 *   request's connection: composing this interceptor on it decides the fork when the request
 *   is made (`instrumentFetch()` alone sends such queued requests as baseline).
 *
 * @example
 * import { Agent, interceptors, request } from 'undici';
 * import { forkInterceptor } from '@kubefork/fetch';
 *
 * const dispatcher = new Agent({ connections: 50 })
 *   .compose(forkInterceptor(), interceptors.retry(), interceptors.redirect());
 * await request('http://orders.shop.svc.cluster.local/api', { dispatcher });
 */
export function forkInterceptor(): DispatcherComposeInterceptor {
  return function forkInterceptor(next) {
    // undici calls the next dispatch with the options it was given, plus our headers.
    const dispatch = next as DispatchLike;
    return function dispatchWithFork(options, handler) {
      const id = getForkId();
      const scopedHandler = scopeHandler(handler, id);
      if (id === undefined) return dispatch(options, scopedHandler);
      let forked = options;
      try {
        const target =
          forkConfig().propagateTo === undefined
            ? undefined
            : dispatchTarget(options.origin, options.path);
        const headers = copyHeaders(options.headers);
        const injected = Array.isArray(headers)
          ? injectForkHeaders(headers, flatHeadersAccess, target)
          : headers !== undefined && injectForkHeaders(headers, recordAccess, target);
        if (injected) forked = { ...options, headers };
      } catch {
        // Deliberately ignored: the request goes out as the caller built it.
      }
      return dispatch(forked, scopedHandler);
    };
  };
}

import { getForkId, runWithForkId } from '@kubefork/context';
import { bindFork } from '@kubefork/context/integration';

/**
 * undici does part of a request's work from its connection's callbacks, and those run in the
 * async context of whichever request opened the connection, not the one they serve:
 *
 * - the redirect and retry interceptors dispatch the next hop or attempt from the previous
 *   one's response callbacks (or a timer set there);
 * - a `Pool`/`Agent` with a `connections` limit queues requests and dispatches them when a
 *   connection becomes free, from that connection's callbacks.
 *
 * On a keep-alive connection opened by another fork's request, such a hop would be created in
 * that other fork and routed there (verified on Node 20.20, 22.23, 24.22 with undici 6 and 7).
 * Two measures keep every request in its own fork:
 *
 * 1. The callbacks of each undici request (all of them: handlers re-dispatch from the response
 *    start, end and error; a body's 'data' listeners run from onData) run in the context the
 *    request was made in (`bindFork`: the fork and every
 *    other async-local store), so hops and retries are created in it. Patched once per copy of
 *    undici, on its `Request` prototype.
 * 2. A connection's own events run outside any fork, so a queued request dispatched from them is
 *    made as baseline, never in a stranger's fork. (A `connections`-limited dispatcher should
 *    compose `forkInterceptor()` to decide the fork when the request is made; see its docs.)
 */

/** The fork a request's callbacks run in (`undefined`: baseline)… */
const REQUEST_FORK = Symbol('kubefork.request-fork');
/** …and the context they run in, bound where the request was made. */
const REQUEST_SCOPE = Symbol('kubefork.request-scope');

type Callback = (this: unknown, ...args: unknown[]) => unknown;

/** Calls `method` on `target`; bound with `bindFork`, it does so in the bind's context. */
export type Scope = (method: Callback, target: unknown, args: unknown[]) => unknown;

const apply: Scope = (method, target, args) => method.apply(target, args);

/**
 * A scope bound to the current context or, given a fork, to the current context with that fork
 * (a request made outside a fork that carries one anyway).
 */
export function bindScope(fork?: string): Scope {
  return fork === undefined || fork === getForkId()
    ? bindFork(apply)
    : runWithForkId(fork, () => bindFork(apply));
}

/**
 * The handler callbacks undici calls: every method named `on…` (undici 6 and 7: onConnect,
 * onHeaders, onData, onComplete, onError, …; undici 8: onRequestStart, onResponseStart,
 * onResponseData, onResponseEnd, onResponseError, …). All of them run in the request's context,
 * not only those through which handlers re-dispatch: a response body's 'data' listeners, a
 * `stream()` Writable and a raw dispatch handler run from them.
 */
export function isHandlerCallback(name: string | symbol): name is string {
  return typeof name === 'string' && name.startsWith('on');
}

interface ScopedRequest {
  [REQUEST_FORK]?: string | undefined;
  [REQUEST_SCOPE]?: Scope;
}

interface Patch {
  prototype: Record<string, unknown>;
  name: string;
  original: Callback;
  wrapper: Callback;
}

const patches: Patch[] = [];
const patchedPrototypes = new WeakSet<object>();
/** The prototype seen last: usually the only one, so the WeakSet is rarely consulted. */
let lastPrototype: object | null = null;

function scoped(original: Callback): Callback {
  return function runInRequestFork(this: unknown, ...args: unknown[]) {
    const request = this as ScopedRequest;
    const scope = request[REQUEST_SCOPE];
    // Already in the request's fork (the common case): nothing to re-enter.
    if (scope === undefined || request[REQUEST_FORK] === getForkId()) {
      return original.apply(this, args);
    }
    return scope(original, this, args);
  };
}

function patchPrototype(prototype: Record<string, unknown>): void {
  patchedPrototypes.add(prototype);
  for (const name of Object.getOwnPropertyNames(prototype)) {
    if (!isHandlerCallback(name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
    if (descriptor === undefined || !('value' in descriptor) || !descriptor.writable) continue;
    const original = descriptor.value as unknown;
    if (typeof original !== 'function') continue;
    const wrapper = scoped(original as Callback);
    prototype[name] = wrapper;
    patches.push({ prototype, name, original: original as Callback, wrapper });
  }
}

/**
 * Makes the callbacks of `request` run in the current context, with `fork` (`undefined`:
 * baseline) when that is not the current one.
 */
export function scopeRequest(request: object, fork: string | undefined): void {
  const prototype = Object.getPrototypeOf(request) as Record<string, unknown> | null;
  if (prototype !== lastPrototype && prototype !== null) {
    lastPrototype = prototype;
    if (!patchedPrototypes.has(prototype)) patchPrototype(prototype);
  }
  (request as ScopedRequest)[REQUEST_FORK] = fork;
  (request as ScopedRequest)[REQUEST_SCOPE] = bindScope(fork);
}

/** Restores every patched prototype (where nobody has replaced our wrapper since). */
export function unscopeRequests(): void {
  for (const { prototype, name, original, wrapper } of patches.splice(0)) {
    if (prototype[name] === wrapper) prototype[name] = original;
    patchedPrototypes.delete(prototype);
  }
  lastPrototype = null;
}

let connectionsScoped = false;

/** Makes the events of a newly connected undici socket run outside any fork. */
export function scopeConnection(socket: { emit: (...args: never[]) => boolean }): void {
  const emit = socket.emit as (...args: unknown[]) => boolean;
  socket.emit = function emitOutsideForks(this: unknown, ...args: unknown[]) {
    if (!connectionsScoped || getForkId() === undefined) return emit.apply(this, args);
    return runWithForkId(undefined, () => emit.apply(this, args));
  };
}

export function setConnectionsScoped(on: boolean): void {
  connectionsScoped = on;
}

import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';
import { describeValue, ERR_INVALID_FORK_ID, invalidOption, KubeforkTypeError } from './errors.js';
import { BASELINE, type ForkSource, state } from './store.js';
import { invalidReason } from './validate.js';

// Where the fork of the current moment comes from, in this order (the one place that decides):
//
// 1. kubefork's own store: inside `runWithForkId` or an integration's request scope its value
//    wins, and an explicit baseline scope (`runWithForkId(undefined, …)`) means no fork, hiding
//    everything below.
// 2. Outside any kubefork scope, the sources added with `registerForkSource`, in registration
//    order; the first valid id wins. `@kubefork/otel` adds the active OpenTelemetry baggage entry
//    `baggageKey` when it is imported, so a service instrumented only by OpenTelemetry still
//    sees its fork. The kernel itself knows nothing of OpenTelemetry.
// 3. Otherwise no fork: `undefined`, the one spelling of "no fork" in every kubefork API.
//
// `@kubefork/otel`'s propagator reads a given OpenTelemetry context first (its own key, then
// its baggage) and falls back to `getForkId()`; the fetch instrumentation reads the request's
// own headers first. Both then follow this order.

/**
 * The fork id of the current async context, or `undefined` outside a fork (see the lookup order
 * above).
 *
 * @example
 * app.get('/', (req, res) => res.json({ fork: getForkId() ?? 'baseline' }));
 */
export function getForkId(): string | undefined {
  const slot = state.storage.getStore();
  if (typeof slot === 'string') return slot;
  if (slot === BASELINE) return undefined;
  const sources = state.sources;
  return sources.length === 0 ? undefined : fromSources(sources);
}

function fromSources(sources: readonly ForkSource[]): string | undefined {
  const config = state.config;
  for (const source of sources) {
    let id: unknown;
    try {
      id = source();
    } catch {
      continue; // a broken source must not break the request that asked
    }
    if (typeof id === 'string' && invalidReason(id, config) === undefined) return id;
  }
  return undefined;
}

/**
 * Adds a fallback lookup asked by `getForkId()` when no kubefork scope is entered (step 2 of the
 * lookup order): for integrations that know another context system, as `@kubefork/otel` adds
 * OpenTelemetry's active baggage. `lookup` returns the fork id it sees or `undefined`; only
 * valid ids count, and a lookup that throws is skipped. Sources are asked in registration
 * order. Returns the function that removes the source again.
 *
 * Keep a lookup cheap: it runs on every `getForkId()` outside a kubefork scope, which includes
 * every outbound request of a service without kubefork's server middleware.
 *
 * @example
 * registerForkSource(() => myTracer.currentBaggage()?.get('x-fork-identifier'));
 */
export function registerForkSource(lookup: () => string | undefined): () => void {
  if (typeof lookup !== 'function') {
    throw invalidOption('lookup', lookup, 'a function () => string | undefined');
  }
  const sources = state.sources;
  sources.push(lookup);
  let done = false;
  return function unregisterForkSource() {
    if (done) return;
    done = true;
    const index = sources.indexOf(lookup);
    if (index !== -1) sources.splice(index, 1);
  };
}

/**
 * Runs `fn` with `id` as the fork of everything it starts, synchronously or asynchronously,
 * and returns what `fn` returns. `undefined` means explicitly no fork (baseline), hiding any
 * outer fork. Scopes nest; nothing leaks out of `fn`.
 *
 * Throws a `TypeError` (code `ERR_KUBEFORK_INVALID_FORK_ID`) when `id` is not a valid fork id:
 * passing an unchecked value is a programmer error; validate inbound values with
 * `extractForkId`. A `fn` that is not a function throws `ERR_KUBEFORK_INVALID_OPTION`.
 *
 * @example
 * await runWithForkId('alice', () => fetch('http://orders/api')); // carries x-fork-identifier: alice
 */
export function runWithForkId<T>(id: string | undefined, fn: () => T): T {
  if (id !== undefined) {
    const reason = typeof id === 'string' ? invalidReason(id, state.config) : 'characters';
    if (reason !== undefined) {
      throw new KubeforkTypeError(
        `kubefork: runWithForkId received an invalid fork id ${describeValue(id)} (${reason})`,
        ERR_INVALID_FORK_ID,
      );
    }
  }
  if (typeof fn !== 'function') throw invalidOption('fn', fn, 'a function');
  return state.storage.run(id ?? BASELINE, fn);
}

const BOUND = Symbol('kubefork.bound-emitter');

interface BoundEmitter extends EventEmitter {
  [BOUND]?: AsyncResource;
}

/**
 * Carries the current async context into callbacks that Node or a library will call later from
 * somewhere else (a connection's socket, a session, a pooled connection, a native binding),
 * for integrations:
 *
 * - given a function, returns a function that runs it in the context of this call;
 * - given an `EventEmitter`, makes every later `emit` of it run its listeners in the context of
 *   this call, and returns the emitter. Binding an emitter again moves it to the new context.
 *
 * It is built on `AsyncResource`, so it restores every `AsyncLocalStorage` store of the moment,
 * not only kubefork's: OpenTelemetry's active context (span, baggage) and any other library's
 * come back with the fork, as they would through `await`. This is the one way kubefork's
 * integrations re-enter a fork; an integration that enters a fork first calls `bindFork` inside
 * `runWithForkId`.
 *
 * @example
 * runWithForkId(extractForkId(request.headers), () => {
 *   bindFork(request); // 'data' and 'end' of a body that arrives later see the fork
 *   handler(request, response);
 * });
 */
export function bindFork<T extends EventEmitter | ((...args: never[]) => unknown)>(target: T): T {
  if (typeof target === 'function') {
    // Not `AsyncResource.bind`: it also defines `length` and `asyncResource` on the bound
    // function, measurable when an integration binds once per request.
    const fn = target as (...args: unknown[]) => unknown;
    const resource = new AsyncResource('kubefork.bindFork');
    return function boundToFork(this: unknown, ...args: unknown[]) {
      return resource.runInAsyncScope(fn, this, ...args);
    } as unknown as T;
  }
  if (target === null || typeof target !== 'object' || typeof target.emit !== 'function') {
    throw invalidOption('target', target, 'a function or an EventEmitter');
  }
  const emitter = target as BoundEmitter;
  const resource = new AsyncResource('kubefork.bindFork');
  if (emitter[BOUND] !== undefined) {
    emitter[BOUND] = resource;
    return target;
  }
  Object.defineProperty(emitter, BOUND, { value: resource, writable: true, enumerable: false });
  const emit = emitter.emit;
  emitter.emit = function emitInBoundContext(this: BoundEmitter, ...args: unknown[]) {
    const bound = (this[BOUND] ?? resource) as AsyncResource;
    return bound.runInAsyncScope(emit, this, ...args);
  } as EventEmitter['emit'];
  return target;
}

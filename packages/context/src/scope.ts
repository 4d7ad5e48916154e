import { propagation } from '@opentelemetry/api';
import { describeValue, ERR_INVALID_FORK_ID, KubeforkTypeError } from './errors.js';
import { NO_FORK, state } from './store.js';
import { invalidReason } from './validate.js';

/** Where `@opentelemetry/api` 1.x registers its globals (context manager, propagator…). */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * The fork id of the current async context, or `undefined` outside a fork.
 *
 * Inside `runWithForkId` (and every integration's request scope) this is the store's value.
 * Outside any scope, when OpenTelemetry has an active baggage entry named `baggageKey` holding a
 * valid id, that id is returned, so a service instrumented only by OpenTelemetry still sees
 * its fork.
 *
 * @example
 * app.get('/', (req, res) => res.json({ fork: getForkId() ?? 'baseline' }));
 */
export function getForkId(): string | undefined {
  const slot = state.storage.getStore();
  if (typeof slot === 'string') return slot;
  if (slot === NO_FORK) return undefined;
  return forkIdFromOtel();
}

function forkIdFromOtel(): string | undefined {
  const config = state.config;
  // Without a registered context manager OpenTelemetry's active context is always the empty
  // root context: skip the API call on the hot path of services that do not use OpenTelemetry.
  if (config.baggageKey === null) return undefined;
  const otel = (globalThis as { [OTEL_GLOBAL]?: { context?: unknown } })[OTEL_GLOBAL];
  if (otel?.context === undefined) return undefined;
  const value = propagation.getActiveBaggage()?.getEntry(config.baggageKey)?.value;
  return value !== undefined && invalidReason(value, config) === undefined ? value : undefined;
}

/**
 * Runs `fn` with `id` as the fork of everything it starts, synchronously or asynchronously,
 * and returns what `fn` returns. `undefined` means explicitly no fork (baseline), hiding any
 * outer fork. Scopes nest; nothing leaks out of `fn`.
 *
 * Throws a `TypeError` (code `ERR_KUBEFORK_INVALID_FORK_ID`) when `id` is not a valid fork id:
 * passing an unchecked value is a programmer error; validate inbound values with
 * `extractForkId`.
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
  if (typeof fn !== 'function') {
    throw new KubeforkTypeError(
      `kubefork: runWithForkId needs a function as its second argument; received ${describeValue(fn)}`,
      ERR_INVALID_FORK_ID,
    );
  }
  return state.storage.run(id ?? NO_FORK, fn);
}

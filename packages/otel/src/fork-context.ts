import { type ForkConfig, getForkId, isValidForkId } from '@kubefork/context';
import { type Context, createContextKey, propagation } from '@opentelemetry/api';

/**
 * Where `ForkPropagator.extract` keeps the fork id in an OpenTelemetry context. `createContextKey`
 * registers the description with `Symbol.for`, so two copies of this package share the key.
 */
export const FORK_ID_KEY = createContextKey('kubefork.fork_id');

/**
 * The fork of `context`: our own key, then the baggage entry `baggageKey`, then `getForkId()`
 * (which follows the lookup order documented in @kubefork/context's scope.ts: the kubefork
 * store, then registered sources such as this package's register.ts). Only valid ids are
 * returned: a baggage entry is whatever the last hop sent.
 */
export function forkIdOf(context: Context, config: ForkConfig): string | undefined {
  const own = context.getValue(FORK_ID_KEY);
  if (typeof own === 'string' && isValidForkId(own)) return own;
  if (config.baggageKey !== null) {
    const entry = propagation.getBaggage(context)?.getEntry(config.baggageKey)?.value;
    if (entry !== undefined && isValidForkId(entry)) return entry;
  }
  return getForkId();
}

/** `context` with the fork set under our key and, unless `baggageKey` is null, as a baggage entry. */
export function withForkId(context: Context, config: ForkConfig, id: string): Context {
  let next = context;
  const key = config.baggageKey;
  if (key !== null) {
    const baggage = propagation.getBaggage(context);
    if (baggage === undefined) {
      next = propagation.setBaggage(context, propagation.createBaggage({ [key]: { value: id } }));
    } else if (baggage.getEntry(key)?.value !== id) {
      next = propagation.setBaggage(context, baggage.setEntry(key, { value: id }));
    }
  }
  return next.setValue(FORK_ID_KEY, id);
}

/**
 * `context` without any fork of ours: no key, no baggage entry. Used when the request brought a
 * fork source that must not count (invalid, ambiguous, untrusted), because the baggage
 * propagator before us has already copied the request's member into the context.
 */
export function withoutForkId(context: Context, config: ForkConfig): Context {
  let next = context;
  const key = config.baggageKey;
  if (key !== null) {
    const baggage = propagation.getBaggage(context);
    if (baggage?.getEntry(key) !== undefined) {
      next = propagation.setBaggage(context, baggage.removeEntry(key));
    }
  }
  return next.getValue(FORK_ID_KEY) === undefined ? next : next.deleteValue(FORK_ID_KEY);
}

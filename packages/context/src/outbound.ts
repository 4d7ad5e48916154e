import { mergeBaggage } from './baggage.js';
import type { ForkConfig } from './config.js';
import { getForkId } from './scope.js';
import { ignoreOutcome, isThenable } from './settle.js';
import { state } from './store.js';
import { invalidReason } from './validate.js';

/**
 * How an integration reads and writes one outbound request's headers. Both functions take the
 * carrier so one accessor object serves every request (no allocation per call).
 */
export interface HeaderAccess<C> {
  /** The header's current value (several values joined with ", "), or undefined when absent. */
  get(carrier: C, name: string): string | undefined;
  /** Sets the header, replacing any value it had. */
  set(carrier: C, name: string, value: string): void;
}

/**
 * True when the configured `propagateTo` lets fork ids go to `target`. Never throws; an unparsable
 * URL, a throwing predicate or a promise (an `async` predicate, whose answer comes too late) fail
 * closed.
 */
export function shouldPropagate(config: ForkConfig, target: string | URL | undefined): boolean {
  const propagateTo = config.propagateTo;
  if (propagateTo === undefined || target === undefined) return true;
  try {
    const answer: unknown = propagateTo(typeof target === 'string' ? new URL(target) : target);
    if (isThenable(answer)) {
      ignoreOutcome(answer);
      return false;
    }
    return Boolean(answer);
  } catch {
    // An unparsable URL or a throwing predicate: fail closed, fork ids must not leak.
    return false;
  }
}

/**
 * The headers an outbound call to `target` must carry: `{}` outside a fork or when
 * `propagateTo(target)` is false; otherwise `{ [header]: id }` plus `baggage: "<key>=<id>"`
 * (unless `baggageKey` is null). Without a `target`, `propagateTo` is not consulted.
 *
 * @example
 * const res = await myHttpClient.get(url, { headers: { ...forkHeaders(url), accept: 'application/json' } });
 */
export function forkHeaders(target?: string | URL): Record<string, string> {
  const id = getForkId();
  if (id === undefined) return {};
  const config = state.config;
  if (!shouldPropagate(config, target)) return {};
  const headers: Record<string, string> = { [config.header]: id };
  if (config.baggageKey !== null)
    headers.baggage = `${config.baggageKey}=${encodeURIComponent(id)}`;
  return headers;
}

/**
 * Adds the current fork to an outbound request, for integrations: the header exactly once (a
 * value the caller set explicitly wins and is left alone), and our member merged into
 * `baggage` with every other member kept. Does nothing outside a fork or when `propagateTo`
 * rejects `target`. Returns true when the request now carries a fork.
 *
 * `forkId` adds that fork instead of the current one, for integrations whose fork comes from
 * elsewhere (an OpenTelemetry context); an invalid `forkId` adds nothing. Default: `getForkId()`.
 */
export function injectForkHeaders<C>(
  carrier: C,
  access: HeaderAccess<C>,
  target?: string | URL,
  forkId?: string,
): boolean {
  const config = state.config;
  const id =
    forkId === undefined
      ? getForkId()
      : typeof forkId === 'string' && invalidReason(forkId, config) === undefined
        ? forkId
        : undefined;
  if (id === undefined) return false;
  if (!shouldPropagate(config, target)) return false;

  let effective: string | undefined = id;
  const explicit = access.get(carrier, config.header);
  if (explicit === undefined) {
    access.set(carrier, config.header, id);
  } else {
    // The caller chose a fork for this call: keep baggage in agreement with it, or, when its
    // value is not a single valid id, leave baggage as the caller wrote it.
    effective = invalidReason(explicit, config) === undefined ? explicit : undefined;
  }
  if (config.baggageKey !== null && effective !== undefined) {
    const baggage = access.get(carrier, 'baggage');
    const merged = mergeBaggage(baggage, config.baggageKey, effective);
    if (merged !== baggage) access.set(carrier, 'baggage', merged);
  }
  return true;
}

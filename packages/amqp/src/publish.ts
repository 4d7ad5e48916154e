import { getForkId, mergeBaggage } from '@kubefork/context';
import { forkConfig, injectForkHeaders } from '@kubefork/context/integration';
import { type HeaderTable, tableAccess } from './header-table.js';

/**
 * Publish options objects this package made. `sendToQueue` calls `this.publish`, which is
 * wrapped too: the inner call sees its own copy and leaves it alone.
 */
const made = new WeakSet<object>();

/**
 * The publish options a message sent now must go out with: outside a fork, `options` itself;
 * inside one, a copy whose header table carries the fork header once (a value the caller set
 * wins) and our member in `baggage` (other members kept). The caller's objects are never
 * written to: one options object is often reused for every message, and a fork written into it
 * would follow later messages as an explicit value. Options amqplib would refuse are passed on
 * unchanged, so the caller gets amqplib's own error.
 */
export function withFork(options: unknown): unknown {
  const id = getForkId();
  if (id === undefined) return options;
  if (options !== undefined && (options === null || typeof options !== 'object')) return options;
  if (options !== undefined && made.has(options)) return options;
  const given = (options as { headers?: unknown } | undefined)?.headers;
  if (given !== undefined && given !== null && typeof given !== 'object') return options;
  const headers: HeaderTable = { ...(given as HeaderTable | null | undefined) };
  try {
    if (given === undefined || given === null) {
      // Nothing the caller set to respect: write both headers directly (the common case).
      const config = forkConfig();
      headers[config.header] = id;
      if (config.baggageKey !== null)
        headers.baggage = mergeBaggage(undefined, config.baggageKey, id);
    } else if (!injectForkHeaders(headers, tableAccess, undefined, id)) {
      return options;
    }
  } catch {
    // A message must never fail because of its fork.
    return options;
  }
  const copy = { ...(options as object), headers };
  made.add(copy);
  return copy;
}

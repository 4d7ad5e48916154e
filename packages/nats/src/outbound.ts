import { getForkId, mergeBaggage } from '@kubefork/context';
import { forkConfig, injectForkHeaders } from '@kubefork/context/integration';
import type { MsgHdrs } from '@nats-io/nats-core';
import { copyOf, headersAccess, isOurs } from './message-headers.js';

/**
 * The options (of `publish`, `request` or `requestMany`) a message sent now must go out with:
 * outside a fork, `options` itself; inside one, a copy whose headers carry the fork header
 * once (a value the caller set wins) and our member in `baggage` (other members kept). The
 * caller's objects are never written to. Options nats.js would refuse are passed on unchanged,
 * so the caller gets nats.js's own error.
 */
export function withFork(options: unknown): unknown {
  const id = getForkId();
  if (id === undefined) return options;
  if (options !== undefined && (options === null || typeof options !== 'object')) return options;
  const given = (options as { headers?: MsgHdrs } | undefined)?.headers;
  if (given !== undefined && (given === null || typeof given.keys !== 'function')) return options;
  if (isOurs(given)) return options;
  try {
    const carrier = copyOf(given);
    if (given === undefined) {
      // Nothing the caller set to respect: write both headers directly (the common case).
      const config = forkConfig();
      carrier.append(config.header, id);
      if (config.baggageKey !== null)
        carrier.append('baggage', mergeBaggage(undefined, config.baggageKey, id));
    } else if (!injectForkHeaders(carrier, headersAccess, undefined, id)) {
      return options;
    }
    return { ...(options as object), headers: carrier };
  } catch {
    // A message must never fail because of its fork.
    return options;
  }
}

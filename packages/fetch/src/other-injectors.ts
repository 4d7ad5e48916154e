import { isValidForkId, mergeBaggage } from '@kubefork/context';
import { forkConfig } from '@kubefork/context/integration';
import { type FlatHeaders, matches, readFlat, replaceFlat } from './flat-headers.js';
import type { UndiciRequest } from './undici-request.js';

// Other subscribers of `undici:request:create` add headers to the same request. OpenTelemetry's
// undici instrumentation does, with `request.addHeader`, for every propagator it runs:
// `W3CBaggagePropagator` adds `baggage`, and `ForkPropagator` from @kubefork/otel adds the fork
// header. Subscribers run in the order they subscribed, so whichever of kubefork and
// OpenTelemetry was loaded first runs first. Both orders must end with one fork header and
// one `baggage` header holding our member once.

/**
 * Subscribers before us: removes entries of our header that repeat the fork `id` after the
 * request's first entry of it. The first entry is the caller's (undici puts the caller's headers
 * first, additions after), and a caller's value wins; a later entry equal to the fork is another
 * injector's copy. Entries with other values are left as they are: two different values are
 * the caller's own ambiguity, which the receiver must see.
 */
export function dropRepeatedForkHeader(headers: FlatHeaders, id: string): void {
  const name = forkConfig().header;
  let seen = false;
  for (let i = 0; i < headers.length; ) {
    if (!matches(headers[i], name)) {
      i += 2;
    } else if (!seen) {
      seen = true;
      i += 2;
    } else if (headers[i + 1] === id) {
      headers.splice(i, 2);
    } else {
      i += 2;
    }
  }
}

/**
 * Subscribers after us: gives this request an own `addHeader` that adds no second fork header
 * (the one already there wins) and merges a second `baggage` into the first — one header, our
 * member once and agreeing with the fork header, every other member kept. Other headers go to
 * undici's own `addHeader`.
 */
export function mergeLaterAdditions(request: UndiciRequest): void {
  const addHeader = request.addHeader;
  if (typeof addHeader !== 'function') return;
  request.addHeader = function addHeaderOnce(this: UndiciRequest, name: string, value: string) {
    const config = forkConfig();
    if (matches(name, config.header) && readFlat(this.headers, config.header) !== undefined) {
      return this;
    }
    if (matches(name, 'baggage') && typeof value === 'string') {
      const existing = readFlat(this.headers, 'baggage');
      if (existing !== undefined) {
        const fork = readFlat(this.headers, config.header);
        const combined = `${existing},${value}`;
        replaceFlat(
          this.headers,
          'baggage',
          config.baggageKey !== null && fork !== undefined && isValidForkId(fork)
            ? mergeBaggage(combined, config.baggageKey, fork)
            : combined,
        );
        return this;
      }
    }
    return addHeader.call(this, name, value);
  };
}

import { extractForkId } from '@kubefork/context';
import {
  checkOptions,
  checkTrust,
  forkConfig,
  type HeaderAccess,
  injectForkHeaders,
  isTrusted,
  serializeBaggage,
} from '@kubefork/context/integration';
import {
  type Context,
  createContextKey,
  propagation,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { CarrierHeaders, isPlainObject, readPlainHeader } from './carrier.js';
import { forkIdOf, withForkId, withoutForkId } from './fork-context.js';

export interface ForkPropagatorOptions {
  /**
   * Decides whether an inbound carrier may bring a fork; when it returns false (or throws) the
   * fork is dropped, including the baggage member the baggage propagator already copied. For
   * OpenTelemetry's HTTP server instrumentation the carrier is the request's `headers` object.
   * Use it at the public edge. Default: every carrier is trusted.
   */
  trust?: (carrier: unknown) => boolean;
}

const BAGGAGE = 'baggage';

/**
 * `@opentelemetry/core`'s suppress-tracing key: `createContextKey` registers its description with
 * `Symbol.for`, so this is the key `suppressTracing` sets, without depending on core.
 */
const SUPPRESS_TRACING = createContextKey('OpenTelemetry SDK Context Key SUPPRESS_TRACING');

function isTracingSuppressed(context: Context): boolean {
  return context.getValue(SUPPRESS_TRACING) === true;
}

/** A context's baggage as `W3CBaggagePropagator` writes it (limits included), or undefined. */
function contextBaggage(context: Context): string | undefined {
  const baggage = propagation.getBaggage(context);
  if (baggage === undefined) return undefined;
  const header = serializeBaggage(
    baggage.getAllEntries().map(([key, entry]) => {
      const properties = entry.metadata?.toString();
      return properties === undefined
        ? { key, value: entry.value }
        : { key, value: entry.value, properties };
    }),
  );
  return header === '' ? undefined : header;
}

/**
 * How `inject` sees a carrier through `injectForkHeaders`: a plain-object carrier (what
 * OpenTelemetry's HTTP and undici instrumentations pass) is read for what the caller or the
 * propagators before us wrote; any other carrier cannot be read without a getter, so its
 * `baggage` is taken to be what the baggage propagator before us wrote from the same context.
 */
class CarrierWriter implements HeaderAccess<unknown> {
  readonly #context: Context;
  readonly #setter: TextMapSetter;

  constructor(context: Context, setter: TextMapSetter) {
    this.#context = context;
    this.#setter = setter;
  }

  get(carrier: unknown, name: string): string | undefined {
    if (isPlainObject(carrier)) return readPlainHeader(carrier, name);
    if (name !== BAGGAGE) return undefined;
    return contextBaggage(this.#context);
  }

  set(carrier: unknown, name: string, value: string): void {
    this.#setter.set(carrier, name, value);
  }
}

/**
 * An OpenTelemetry `TextMapPropagator` for the fork id, so services that propagate with
 * OpenTelemetry carry forks the way kubefork's own integrations do. Put it **last** in a
 * `CompositePropagator`, after `W3CTraceContextPropagator` and `W3CBaggagePropagator`.
 *
 * - `extract` reads the fork with `extractForkId` (header, then aliases, then the baggage
 *   member; same validation, `onInvalid` told) and returns the context with the fork under its
 *   own key and as the baggage entry `baggageKey`, so `getForkId()` sees it in services without
 *   kubefork middleware. When the header and the baggage member disagree the header wins, and
 *   the baggage entry is set to agree with it. Invalid, ambiguous or untrusted values add
 *   nothing, and a baggage member of ours that came with them is removed, so it is neither used
 *   nor re-emitted.
 * - `inject` writes the header from the context (our key, then the baggage entry, then
 *   `getForkId()`), once: a header already in a plain-object carrier (set by the caller) wins.
 *   Our baggage member is merged into the `baggage` the baggage propagator wrote, every other
 *   member kept, never a second copy. Nothing is written while tracing is suppressed.
 *
 * Options such as `header`, `aliases`, `baggageKey` and `onInvalid` are kubefork's process-wide
 * ones (`configure` from `@kubefork/context`). `propagateTo` is not consulted: a propagator is
 * not told the destination URL.
 *
 * @example
 * import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
 * import { ForkPropagator } from '@kubefork/otel';
 *
 * const propagator = new CompositePropagator({
 *   propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new ForkPropagator()],
 * });
 */
export class ForkPropagator implements TextMapPropagator {
  readonly #trust: ((carrier: unknown) => boolean) | undefined;

  constructor(options: ForkPropagatorOptions = {}) {
    const trust = checkTrust<(carrier: unknown) => boolean>(
      checkOptions(options, ['trust']).trust,
      '(carrier) => boolean',
    );
    this.#trust = trust;
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    // Like the W3C propagators: suppressed tracing marks the SDK's own export requests.
    if (isTracingSuppressed(context)) return;
    const id = forkIdOf(context, forkConfig());
    if (id === undefined) return;
    injectForkHeaders(carrier, new CarrierWriter(context, setter), undefined, id);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const config = forkConfig();
    if (!isTrusted(this.#trust, carrier)) {
      return withoutForkId(context, config);
    }
    const headers = new CarrierHeaders(carrier, getter);
    const id = extractForkId(headers);
    if (id !== undefined) return withForkId(context, config, id);
    // Present but not usable: the request is served as baseline, whatever the baggage said.
    return headers.sawAny ? withoutForkId(context, config) : context;
  }

  fields(): string[] {
    const config = forkConfig();
    return config.baggageKey === null ? [config.header] : [config.header, BAGGAGE];
  }
}

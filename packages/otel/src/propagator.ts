import { extractForkId } from '@kubefork/context';
import {
  checkOptions,
  checkTrust,
  forkConfig,
  type HeaderAccess,
  injectForkHeaders,
  isTrusted,
} from '@kubefork/context/integration';
import {
  type Context,
  defaultTextMapSetter,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { isTracingSuppressed, W3CBaggagePropagator } from '@opentelemetry/core';
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

/** Serializes a context's baggage exactly as `W3CBaggagePropagator` does (limits included). */
const baggageWriter = new W3CBaggagePropagator();

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
    const scratch: Record<string, string> = {};
    baggageWriter.inject(this.#context, scratch, defaultTextMapSetter);
    return scratch[BAGGAGE];
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

import { forkConfig } from '@kubefork/context/integration';
import type { Context } from '@opentelemetry/api';
import { forkIdOf } from './fork-context.js';

/** The span attribute that holds the fork id. */
export const FORK_ID_ATTRIBUTE = 'kubefork.fork_id';

/**
 * The part of an SDK span that `forkSpanProcessor` uses. Written out instead of imported from
 * `@opentelemetry/sdk-trace-base` (OpenTelemetry 2) or `@opentelemetry/sdk-trace` (3) so that
 * neither is needed to compile against this package: the spans of both SDKs fit it.
 */
export interface ForkSpanTarget {
  setAttribute(key: string, value: string): unknown;
}

/**
 * The span processor `forkSpanProcessor()` returns. Structurally a `SpanProcessor` of
 * OpenTelemetry's SDK 2.x and 3.x: pass it wherever they take one (`spanProcessors`).
 */
export interface ForkSpanProcessor {
  onStart(span: ForkSpanTarget, parentContext: Context): void;
  onEnd(span: unknown): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

class ForkIdSpanProcessor implements ForkSpanProcessor {
  onStart(span: ForkSpanTarget, parentContext: Context): void {
    const id = forkIdOf(parentContext, forkConfig());
    if (id !== undefined) span.setAttribute(FORK_ID_ATTRIBUTE, id);
  }

  onEnd(_span: unknown): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A span processor that sets the attribute `kubefork.fork_id` on every span started in a fork,
 * so traces can be filtered by fork. The fork is read like `ForkPropagator.inject` reads it:
 * from the span's parent context (our key, then the baggage entry), then `getForkId()`. Spans
 * started outside a fork get no attribute. Add it next to your exporting processor; it fits the
 * `SpanProcessor` of OpenTelemetry's SDK 2.x and 3.x.
 *
 * @example
 * import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
 * import { forkSpanProcessor } from '@kubefork/otel';
 *
 * const provider = new NodeTracerProvider({
 *   spanProcessors: [forkSpanProcessor(), new BatchSpanProcessor(exporter)],
 * });
 */
export function forkSpanProcessor(): ForkSpanProcessor {
  return new ForkIdSpanProcessor();
}

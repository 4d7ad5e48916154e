import { forkConfig } from '@kubefork/context/integration';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { forkIdOf } from './fork-context.js';

/** The span attribute that holds the fork id. */
export const FORK_ID_ATTRIBUTE = 'kubefork.fork_id';

class ForkSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    const id = forkIdOf(parentContext, forkConfig());
    if (id !== undefined) span.setAttribute(FORK_ID_ATTRIBUTE, id);
  }

  onEnd(_span: ReadableSpan): void {}

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
 * started outside a fork get no attribute. Add it next to your exporting processor.
 *
 * @example
 * import { NodeTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
 * import { forkSpanProcessor } from '@kubefork/otel';
 *
 * const provider = new NodeTracerProvider({
 *   spanProcessors: [forkSpanProcessor(), new BatchSpanProcessor(exporter)],
 * });
 */
export function forkSpanProcessor(): SpanProcessor {
  return new ForkSpanProcessor();
}

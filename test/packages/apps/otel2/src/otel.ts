// An OpenTelemetry 2 app (the README's sdk-trace-node setup): a span started in a fork carries
// kubefork.fork_id, one outside does not, and the propagators write the fork. Prints JSON.
import { runWithForkId } from '@kubefork/context';
import { FORK_ID_ATTRIBUTE, ForkPropagator, forkSpanProcessor } from '@kubefork/otel';
import { context, propagation, trace } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';

// Typed, not `any`: this line must not compile.
export function notAny(): void {
  // @ts-expect-error ForkSpanProcessor has no such method
  forkSpanProcessor().notAMethod();
}

const exporter = new InMemorySpanExporter();
const fork: SpanProcessor = forkSpanProcessor();
const provider = new NodeTracerProvider({
  spanProcessors: [fork, new SimpleSpanProcessor(exporter)],
});
const propagators = [
  new W3CTraceContextPropagator(),
  new W3CBaggagePropagator(),
  new ForkPropagator(),
];
provider.register({ propagator: new CompositePropagator({ propagators }) });

const tracer = trace.getTracer('packages-test');
runWithForkId('alice', () => tracer.startActiveSpan('in-fork', (span) => span.end()));
tracer.startActiveSpan('outside', (span) => span.end());
const carrier: Record<string, string> = {};
runWithForkId('alice', () => propagation.inject(context.active(), carrier));
await provider.forceFlush();
const spans = exporter.getFinishedSpans().map((span) => ({
  name: span.name,
  fork: span.attributes[FORK_ID_ATTRIBUTE] ?? null,
}));
await provider.shutdown();
console.log(JSON.stringify({ spans, carrier }));

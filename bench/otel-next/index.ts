// The otel variant on Node >= 22.15: OpenTelemetry's newest line (SDK 3.x, API 1.10,
// instrumentations 0.30x). Same setup as the Node 20 line in ../chain/variants/otel.ts; 3.x
// has no NodeTracerProvider#register, so the globals are set one by one.

import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { AlwaysOffSampler, TracerProvider } from '@opentelemetry/sdk-trace';

export async function setupOpenTelemetry(framework: 'express' | 'fastify' | 'grpc'): Promise<void> {
  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation(),
    new UndiciInstrumentation(),
  ];
  if (framework === 'express') {
    const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
    instrumentations.push(new ExpressInstrumentation());
  } else if (framework === 'fastify') {
    const { FastifyOtelInstrumentation } = await import('@fastify/otel');
    instrumentations.push(new FastifyOtelInstrumentation({ registerOnInitialization: true }));
  }
  const provider = new TracerProvider({ sampler: new AlwaysOffSampler() });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({ tracerProvider: provider, instrumentations });
}

/** The value of baggage entry `key` in the active context. */
export function activeBaggageEntry(key: string): string | undefined {
  return propagation.getActiveBaggage()?.getEntry(key)?.value;
}

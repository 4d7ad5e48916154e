// OpenTelemetry as a team would set it up to carry a fork id without exporting traces: a tracer
// provider with an always-off sampler, W3C trace-context + baggage propagators, and the http,
// undici and framework instrumentations. The fork travels as a baggage entry.
//
// Versions: the newest line that runs on Node 20 (SDK 2.12, instrumentations 0.223 / undici
// 0.33 / express 0.71, @fastify/otel 0.21); the 3.x / 0.30x line needs Node >= 22.15.

import { propagation } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { FORK_HEADER } from '../protocol.js';
import type { Variant } from './variant.js';

export const otel: Variant = {
  async setup(framework) {
    const { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } = await import(
      '@opentelemetry/core'
    );
    const { AlwaysOffSampler, NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
    const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
    const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
    const { UndiciInstrumentation } = await import('@opentelemetry/instrumentation-undici');

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
    const provider = new NodeTracerProvider({ sampler: new AlwaysOffSampler() });
    provider.register({
      propagator: new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    });
    registerInstrumentations({ tracerProvider: provider, instrumentations });
  },
  async expressMiddleware() {
    return undefined;
  },
  async registerFastify() {},
  async grpcClientInterceptors() {
    return [];
  },
  async grpcServerOptions() {
    return {};
  },
  wrapUnary: (handler) => handler,
  currentFork: () => propagation.getActiveBaggage()?.getEntry(FORK_HEADER)?.value,
};

// OpenTelemetry as a team would set it up to carry a fork id without exporting traces: a tracer
// provider with an always-off sampler, W3C trace-context + baggage propagators, and the http,
// undici and framework instrumentations (Express: instrumentation-express; Fastify:
// @fastify/otel). The fork travels as a baggage entry.
//
// On Node >= 22.15 the newest line (SDK 3.x) from the @kubefork/bench-otel-next workspace
// package; before that the 2.x line below, the newest that runs on Node 20.

import { propagation } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { FORK_HEADER } from '../protocol.js';
import { usesOtelNext } from './otel-line.js';
import type { Framework, Variant } from './variant.js';

async function setupLine2(framework: Framework): Promise<void> {
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
}

let activeBaggageEntry = (key: string): string | undefined =>
  propagation.getActiveBaggage()?.getEntry(key)?.value;

export const otel: Variant = {
  async setup(framework) {
    if (usesOtelNext()) {
      const next = await import('@kubefork/bench-otel-next');
      await next.setupOpenTelemetry(framework);
      activeBaggageEntry = next.activeBaggageEntry;
    } else {
      await setupLine2(framework);
    }
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
  currentFork: () => activeBaggageEntry(FORK_HEADER),
};

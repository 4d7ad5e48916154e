// Public surface of @kubefork/otel. Anything not exported here is internal.

// Registers the OpenTelemetry baggage as a fork source of getForkId() (see register.ts).
import './register.js';

export type { ForkPropagatorOptions } from './propagator.js';
export { ForkPropagator } from './propagator.js';
export type { ForkSpanProcessor, ForkSpanTarget } from './span-processor.js';
export { FORK_ID_ATTRIBUTE, forkSpanProcessor } from './span-processor.js';

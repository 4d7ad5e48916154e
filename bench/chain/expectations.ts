// What B must receive for each variant. A benchmark of a variant that does not propagate (or,
// for bare, that does) measures nothing worth reporting, so every run is checked against this.

import type { Expectation } from './orchestrate.js';
import type { VariantName } from './protocol.js';

type Expectations = Partial<Record<VariantName, Expectation>>;

export const HTTP_EXPECTATIONS: Expectations = {
  bare: { header: 'none', baggage: 'none', context: 'none' },
  minimum: { header: 'all', baggage: 'none', context: 'all' },
  // kubefork re-emits the header and its baggage member.
  kubefork: { header: 'all', baggage: 'all', context: 'all' },
  // OpenTelemetry carries the fork only as a baggage entry.
  otel: { header: 'none', baggage: 'all', context: 'all' },
};

export const GRPC_EXPECTATIONS: Expectations = {
  bare: { header: 'none', baggage: 'none', context: 'none' },
  minimum: { header: 'all', baggage: 'none', context: 'all' },
  // The client interceptor writes the metadata entry and our baggage member, as for HTTP.
  kubefork: { header: 'all', baggage: 'all', context: 'all' },
};

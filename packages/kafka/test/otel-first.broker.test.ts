// OpenTelemetry (kafkajs instrumentation + ForkPropagator) is set up first, then kubefork.
import { describeExactlyOnce } from './support/otel.js';

describeExactlyOnce('otel-first');

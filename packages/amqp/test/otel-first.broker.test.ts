// OpenTelemetry's amqplib instrumentation patches amqplib before the channels are wrapped.
import { describeExactlyOnce } from './otel-coexistence.js';

describeExactlyOnce('otel-first');

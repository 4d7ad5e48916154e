// The channels are wrapped first; OpenTelemetry's amqplib instrumentation patches amqplib after.
import { describeExactlyOnce } from './otel-coexistence.js';

describeExactlyOnce('kubefork-first');

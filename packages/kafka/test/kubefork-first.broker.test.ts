// kubefork is configured and kafkajs loaded first; OpenTelemetry is set up afterwards.
import { describeExactlyOnce } from './support/otel.js';

describeExactlyOnce('kubefork-first');

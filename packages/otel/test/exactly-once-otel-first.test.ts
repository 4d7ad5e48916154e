// OpenTelemetry is set up first, `@kubefork/auto` is loaded second.
import { describeExactlyOnce, loadAuto, setUpCoexistence } from './coexistence.js';

describeExactlyOnce(await setUpCoexistence('otel-first', loadAuto));

// `@kubefork/auto` is loaded first, OpenTelemetry is set up second.
import { describeExactlyOnce, loadAuto, setUpCoexistence } from './coexistence.js';

describeExactlyOnce(await setUpCoexistence('kubefork-first', loadAuto));

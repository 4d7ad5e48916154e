// Side effect of importing @kubefork/otel: `getForkId()` falls back to the fork in the active
// OpenTelemetry baggage (step 2 of the lookup order in @kubefork/context's scope.ts), so a
// service instrumented only by OpenTelemetry still sees its fork. The kernel knows nothing of
// OpenTelemetry; this is the only place that connects the two.
import { forkConfig, registerForkSource } from '@kubefork/context/integration';
import { propagation } from '@opentelemetry/api';

/** Where `@opentelemetry/api` 1.x registers its globals (context manager, propagator…). */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');
/** One registration per process, however many copies of this package are loaded. */
const REGISTERED = Symbol.for('kubefork.otel.baggage-source');

/** The valid-or-not fork in the active OpenTelemetry baggage; the kernel validates it. */
function forkIdFromActiveBaggage(): string | undefined {
  const key = forkConfig().baggageKey;
  if (key === null) return undefined;
  // Without a registered context manager OpenTelemetry's active context is always the empty
  // root context: skip the API call on the hot path of services that do not use OpenTelemetry.
  const otel = (globalThis as { [OTEL_GLOBAL]?: { context?: unknown } })[OTEL_GLOBAL];
  if (otel?.context === undefined) return undefined;
  return propagation.getActiveBaggage()?.getEntry(key)?.value;
}

const holder = globalThis as { [REGISTERED]?: true };
if (holder[REGISTERED] === undefined) {
  Object.defineProperty(holder, REGISTERED, { value: true });
  registerForkSource(forkIdFromActiveBaggage);
}

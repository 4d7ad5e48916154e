import {
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { runWithForkId } from '@kubefork/context';
import { bindFork } from '@kubefork/context/integration';
import { inboundForkId } from './inbound.js';
import { type ForkServerOptions, resolveServerOptions, type ServerSettings } from './options.js';

/** The handler side of a call (grpc-js does not export the type by name). */
type HandlerListener = Parameters<ServerInterceptingCall['start']>[0];

type Scope = (step: () => void) => void;

/** Before the metadata step (grpc-js never does this) a step runs as baseline. */
const baseline: Scope = (step) => runWithForkId(undefined, step);

/**
 * A call that enters the fork of its inbound metadata in every step it hands to the handler.
 * grpc-js delivers each step (metadata, every message, half-close, cancel) from its own HTTP/2
 * stream event, outside the context the handler started in, so entering the fork only with the
 * metadata would lose it in request streams. Wrapping the handler-side listener given to
 * `start`, rather than adding a listener of our own, also covers the cancel step, whose
 * listener API has no `next` to wrap.
 */
class ForkServerCall extends ServerInterceptingCall {
  readonly #settings: ServerSettings;
  readonly #path: string;

  constructor(next: ServerInterceptingCallInterface, settings: ServerSettings, path: string) {
    super(next);
    this.#settings = settings;
    this.#path = path;
  }

  override start(listener: HandlerListener): void {
    const settings = this.#settings;
    const path = this.#path;
    // The later steps run in the context of the metadata step: the fork and every other
    // async-local store of that moment (OpenTelemetry's included).
    let scope = baseline;
    super.start({
      onReceiveMetadata(metadata) {
        runWithForkId(inboundForkId(settings, metadata, path), () => {
          scope = bindFork((step: () => void) => step());
          listener.onReceiveMetadata(metadata);
        });
      },
      onReceiveMessage(message) {
        scope(() => listener.onReceiveMessage(message));
      },
      onReceiveHalfClose() {
        scope(() => listener.onReceiveHalfClose());
      },
      onCancel() {
        scope(() => listener.onCancel());
      },
    });
  }
}

/**
 * A server interceptor (grpc-js ≥ 1.10) that runs every call in the fork of its inbound
 * metadata: `getForkId()` answers in the handler of every call type, after `await`, in timers
 * and in every event of the call (`'data'`, `'end'`, `'cancelled'`). Invalid or ambiguous
 * values are ignored (the call is served as baseline) and reported to `onInvalid`.
 *
 * @param options.trust - `(metadata, path) => boolean`; when it returns false the inbound fork
 *   is dropped (use at the public edge). Default: trust every call.
 * @example
 * import { Server } from '@grpc/grpc-js';
 * import { forkServerInterceptor } from '@kubefork/grpc';
 *
 * const server = new Server({ interceptors: [forkServerInterceptor()] });
 */
export function forkServerInterceptor(options?: ForkServerOptions): ServerInterceptor {
  const settings = resolveServerOptions(options);
  return function forkServerInterceptor(method, call) {
    return new ForkServerCall(call, settings, method.path);
  };
}

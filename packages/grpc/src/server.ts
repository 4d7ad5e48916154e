import {
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import { runWithForkId } from '@kubefork/context';
import { inboundForkId } from './inbound.js';
import { type ForkServerOptions, resolveServerOptions, type ServerSettings } from './options.js';

/** The handler side of a call (grpc-js does not export the type by name). */
type HandlerListener = Parameters<ServerInterceptingCall['start']>[0];

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
    let id: string | undefined;
    super.start({
      onReceiveMetadata(metadata) {
        id = inboundForkId(settings, metadata, path);
        runWithForkId(id, () => listener.onReceiveMetadata(metadata));
      },
      onReceiveMessage(message) {
        runWithForkId(id, () => listener.onReceiveMessage(message));
      },
      onReceiveHalfClose() {
        runWithForkId(id, () => listener.onReceiveHalfClose());
      },
      onCancel() {
        runWithForkId(id, () => listener.onCancel());
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

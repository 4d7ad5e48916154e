import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { runWithForkId } from '@kubefork/context';
import { type ForkServerOptions, inboundForkId, resolveServerOptions } from './options.js';

/**
 * A server interceptor (grpc-js ≥ 1.10) that runs every call in the fork of its inbound
 * metadata: `getForkId()` answers in the handler of every call type, after `await`, in timers
 * and in every `'data'` / `'end'` event of a request stream. Invalid or ambiguous values are
 * ignored (the call is served as baseline) and reported to `onInvalid`.
 *
 * grpc-js delivers each step of a call (metadata, every message, half-close) from its own
 * stream event, outside the context the handler started in, so the interceptor enters the
 * fork again in every step; entering it only for the metadata would lose it in streams.
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
    let id: string | undefined;
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextStep) {
            id = inboundForkId(settings, metadata, method.path);
            runWithForkId(id, () => nextStep(metadata));
          },
          onReceiveMessage(message, nextStep) {
            runWithForkId(id, () => nextStep(message));
          },
          onReceiveHalfClose(nextStep) {
            runWithForkId(id, nextStep);
          },
        });
      },
    });
  };
}

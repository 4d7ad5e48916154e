import { InterceptingCall, type Interceptor, type Metadata } from '@grpc/grpc-js';
import { getForkId } from '@kubefork/context';
import { injectForkHeaders } from '@kubefork/context/integration';
import { metadataAccess } from './metadata.js';

/**
 * Metadata carrying `id`: a copy of `metadata`, because callers may reuse one `Metadata`
 * object for many calls (grpc-js hands the caller's object to interceptors) and a fork written
 * into it would follow the next call as an explicit value. Returns `metadata` itself when
 * nothing is added, or when grpc-js refuses a configured name (header names that are valid in
 * HTTP but not in gRPC metadata): a call must never fail because of its fork.
 */
function withFork(metadata: Metadata, id: string): Metadata {
  const copy = metadata.clone();
  try {
    return injectForkHeaders(copy, metadataAccess, undefined, id) ? copy : metadata;
  } catch {
    return metadata;
  }
}

/**
 * A client interceptor that adds the current fork to every call of the client it is given to:
 * metadata `x-fork-identifier: <id>` exactly once and our member in `baggage` (other members
 * kept), on unary and streaming calls alike. A value the caller set in the call's metadata wins.
 * Outside a fork nothing is added. The fork is the one current when the call is made, even when
 * an earlier interceptor starts the call later.
 *
 * gRPC clients opt in one by one, so `propagateTo` is not consulted (interceptors do not learn
 * the channel's target): attach this only to clients of your own services.
 *
 * @example
 * import { credentials } from '@grpc/grpc-js';
 * import { forkClientInterceptor } from '@kubefork/grpc';
 *
 * const orders = new OrdersClient('orders:50051', credentials.createInsecure(), {
 *   interceptors: [forkClientInterceptor()],
 * });
 */
export function forkClientInterceptor(): Interceptor {
  return function forkClientInterceptor(options, nextCall) {
    const id = getForkId();
    if (id === undefined) return new InterceptingCall(nextCall(options));
    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(withFork(metadata, id), listener);
      },
    });
  };
}

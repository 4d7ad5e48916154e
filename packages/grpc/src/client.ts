import {
  InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  type Metadata,
} from '@grpc/grpc-js';
import { getForkId } from '@kubefork/context';
import { bindFork, injectForkHeaders } from '@kubefork/context/integration';
import { metadataAccess } from './metadata.js';
import { type ForkClientOptions, resolveClientOptions } from './options.js';

/**
 * Metadata carrying `id`: a copy of `metadata`, because callers may reuse one `Metadata`
 * object for many calls (grpc-js hands the caller's object to interceptors) and a fork written
 * into it would follow the next call as an explicit value. Returns `metadata` itself when
 * nothing is added, or when grpc-js refuses a configured name (header names that are valid in
 * HTTP but not in gRPC metadata): a call must never fail because of its fork.
 */
function withFork(metadata: Metadata, id: string, target: string | undefined): Metadata {
  const copy = metadata.clone();
  try {
    return injectForkHeaders(copy, metadataAccess, target, id) ? copy : metadata;
  } catch {
    return metadata;
  }
}

/** Runs one listener step; bound to a call's context once per call with `bindFork`. */
type Step = (listener: InterceptingListener, step: (value: never) => void, value: unknown) => void;

function runStep(listener: InterceptingListener, step: (value: never) => void, value: unknown) {
  step.call(listener, value as never);
}

/**
 * `listener` with every step run through `run`: grpc-js emits a streaming call's events from
 * the HTTP/2 session's callbacks, which on Node < 24 run in the context of whichever call opened
 * the channel.
 */
function inCallContext(listener: InterceptingListener, run: Step): InterceptingListener {
  return {
    onReceiveMetadata: (metadata) => run(listener, listener.onReceiveMetadata, metadata),
    onReceiveMessage: (message) => run(listener, listener.onReceiveMessage, message),
    onReceiveStatus: (status) => run(listener, listener.onReceiveStatus, status),
  };
}

/**
 * A client interceptor that adds the current fork to every call of the client it is given to:
 * metadata `x-fork-identifier: <id>` exactly once and our member in `baggage` (other members
 * kept), on unary and streaming calls alike. A value the caller set in the call's metadata wins.
 * Outside a fork nothing is added. The fork is the one current when the call is made, even when
 * an earlier interceptor starts the call later. The call's response steps (metadata, each
 * message, status: the callback and every `'data'`, `'end'`, `'status'` event) run in the async
 * context the call was made in, with every `AsyncLocalStorage` store of that moment.
 *
 * grpc-js does not tell interceptors the channel's target, so `propagateTo` is consulted only
 * when `target` names it: `forkClientInterceptor({ target: 'orders:50051' })` asks
 * `propagateTo` about `http://orders:50051`. Without it, attach this only to clients of your own
 * services.
 *
 * @example
 * import { credentials } from '@grpc/grpc-js';
 * import { forkClientInterceptor } from '@kubefork/grpc';
 *
 * const orders = new OrdersClient('orders:50051', credentials.createInsecure(), {
 *   interceptors: [forkClientInterceptor({ target: 'orders:50051' })],
 * });
 */
export function forkClientInterceptor(options?: ForkClientOptions): Interceptor {
  const { target } = resolveClientOptions(options);
  return function forkClientInterceptor(callOptions, nextCall) {
    const id = getForkId();
    // One AsyncResource per call, taken now: an earlier interceptor may start the call later.
    const run: Step = bindFork(runStep);
    return new InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        const bound = inCallContext(listener as InterceptingListener, run);
        next(id === undefined ? metadata : withFork(metadata, id, target), bound);
      },
    });
  };
}

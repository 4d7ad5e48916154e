import type { EventEmitter } from 'node:events';
import type { Metadata, UntypedServiceImplementation } from '@grpc/grpc-js';
import { runWithForkId } from '@kubefork/context';
import { bindFork, invalidOption } from '@kubefork/context/integration';
import { inboundForkId } from './inbound.js';
import { type ForkServerOptions, resolveServerOptions, type ServerSettings } from './options.js';

/** What every grpc-js server call object (unary or stream) offers. */
interface ServerCall extends EventEmitter {
  readonly metadata: Metadata;
  getPath(): string;
}

type Handler = (this: unknown, call: ServerCall, callback?: unknown) => unknown;

function wrap(handler: Handler, self: object, settings: ServerSettings): Handler {
  return function forkHandler(call, callback) {
    const id = inboundForkId(settings, call.metadata, call.getPath());
    return runWithForkId(id, () => {
      // Request messages reach a stream from grpc-js's own stream events, outside the handler's
      // context, so every event of the call is bound to the handler's (the same gap as
      // nodejs/node#33723 for HTTP request bodies).
      bindFork(call);
      return callback === undefined ? handler.call(self, call) : handler.call(self, call, callback);
    });
  };
}

/**
 * Returns `implementation` with every handler wrapped to run in the fork of its call's
 * metadata, for servers that cannot use server interceptors (grpc-js before 1.10 in the call
 * path, frameworks that register handlers themselves). The guarantees are those of
 * `forkServerInterceptor`: `getForkId()` answers at the start of every handler, after `await`,
 * in timers and in every event of the call (`'data'`, `'end'`, `'cancelled'`, …).
 *
 * Handlers found on the prototype chain (a class instance) are wrapped too and called with
 * `this` set to `implementation`. Values that are not functions are copied unchanged.
 *
 * @param options.trust - `(metadata, path) => boolean`; when it returns false the inbound fork
 *   is dropped (use at the public edge). Default: trust every call.
 * @example
 * import { withForkHandlers } from '@kubefork/grpc';
 *
 * server.addService(OrdersService, withForkHandlers({
 *   async getOrder(call, callback) {
 *     callback(null, await orders.find(call.request.id)); // outbound calls carry the fork
 *   },
 * }));
 */
export function withForkHandlers<T extends UntypedServiceImplementation>(
  implementation: T,
  options?: ForkServerOptions,
): T {
  if (typeof implementation !== 'object' || implementation === null) {
    throw invalidOption(
      'implementation',
      implementation,
      'a service implementation (an object of handlers)',
    );
  }
  const settings = resolveServerOptions(options);
  const wrapped: Record<string, unknown> = {};
  // grpc-js looks handlers up with `implementation[name]`, which finds inherited methods too.
  for (
    let layer: object | null = implementation;
    layer !== null && layer !== Object.prototype;
    layer = Object.getPrototypeOf(layer)
  ) {
    for (const name of Object.getOwnPropertyNames(layer)) {
      if (name === 'constructor' || Object.hasOwn(wrapped, name)) continue;
      const value: unknown = (implementation as Record<string, unknown>)[name];
      wrapped[name] =
        typeof value === 'function' ? wrap(value as Handler, implementation, settings) : value;
    }
  }
  return wrapped as T;
}

// The cheapest correct propagation one could write by hand: the floor kubefork is measured
// against. One AsyncLocalStorage `run` per inbound request, one diagnostics-channel subscriber
// (or one gRPC client interceptor) that adds the header. No validation, no baggage, no options.

import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { Interceptor } from '@grpc/grpc-js';
import type { RequestHandler } from 'express';
import { FORK_HEADER } from '../protocol.js';
import type { Variant } from './variant.js';

const storage = new AsyncLocalStorage<string | undefined>();

/** Undici's request object as the `undici:request:create` channel publishes it. */
interface UndiciRequestMessage {
  request: { addHeader(name: string, value: string): unknown };
}

function addForkHeader(message: unknown): void {
  const id = storage.getStore();
  if (id !== undefined) (message as UndiciRequestMessage).request.addHeader(FORK_HEADER, id);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const expressMiddleware: RequestHandler = function minimumForkContext(req, _res, next) {
  storage.run(headerValue(req.headers[FORK_HEADER]), next);
};

async function clientInterceptor(): Promise<Interceptor> {
  // Imported here so the HTTP chains do not load grpc-js.
  const { InterceptingCall } = await import('@grpc/grpc-js');
  return function minimumForkInterceptor(options, nextCall) {
    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const id = storage.getStore();
        if (id !== undefined) metadata.set(FORK_HEADER, id);
        next(metadata, listener);
      },
    });
  };
}

export const minimum: Variant = {
  async setup() {
    subscribe('undici:request:create', addForkHeader);
  },
  async expressMiddleware() {
    return expressMiddleware;
  },
  async registerFastify(app) {
    app.addHook('onRequest', function minimumForkContext(request, _reply, done) {
      storage.run(headerValue(request.headers[FORK_HEADER]), done);
    });
  },
  async grpcClientInterceptors() {
    return [await clientInterceptor()];
  },
  async grpcServerOptions() {
    return {};
  },
  wrapUnary: (handler) =>
    function minimumForkHandler(call, callback) {
      const value = call.metadata.get(FORK_HEADER)[0];
      storage.run(typeof value === 'string' ? value : undefined, () => handler(call, callback));
    },
  currentFork: () => storage.getStore(),
};

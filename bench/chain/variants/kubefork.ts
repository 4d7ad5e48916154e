// kubefork as its READMEs tell a service to use it: `import '@kubefork/auto'` (every node:http
// and fetch/undici call carries the fork) and the framework's `forkContext`; for gRPC the
// client and server interceptors.

import { getForkId } from '@kubefork/context';
import type { Variant } from './variant.js';

export const kubefork: Variant = {
  async setup() {
    await import('@kubefork/auto');
  },
  async expressMiddleware() {
    const { forkContext } = await import('@kubefork/express');
    return forkContext();
  },
  async registerFastify(app) {
    const { forkContext } = await import('@kubefork/fastify');
    await app.register(forkContext);
  },
  async grpcClientInterceptors() {
    const { forkClientInterceptor } = await import('@kubefork/grpc');
    return [forkClientInterceptor()];
  },
  async grpcServerOptions() {
    const { forkServerInterceptor } = await import('@kubefork/grpc');
    return { interceptors: [forkServerInterceptor()] };
  },
  wrapUnary: (handler) => handler,
  currentFork: getForkId,
};

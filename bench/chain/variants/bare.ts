// No propagation at all: what the service costs without any fork support.

import type { Variant } from './variant.js';

export const bare: Variant = {
  async setup() {},
  async expressMiddleware() {
    return undefined;
  },
  async registerFastify() {},
  async grpcClientInterceptors() {
    return [];
  },
  async grpcServerOptions() {
    return {};
  },
  wrapUnary: (handler) => handler,
  currentFork: () => undefined,
};

// Public surface of @kubefork/grpc. Anything not exported here is internal.

export { forkClientInterceptor } from './client.js';
export { withForkHandlers } from './handlers.js';
export type { ForkClientOptions, ForkServerOptions } from './options.js';
export { forkServerInterceptor } from './server.js';

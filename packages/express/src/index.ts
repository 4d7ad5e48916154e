// Public surface of @kubefork/express. Anything not exported here is internal.

export type { ForkContextOptions } from './fork-context.js';
export { forkContext } from './fork-context.js';

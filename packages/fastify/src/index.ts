// Public surface of @kubefork/fastify. Anything not exported here is internal.

import { forkContext } from './fork-context.js';

export type { ForkContextOptions } from './fork-context.js';
export { forkContext };
export default forkContext;

// Public surface of @kubefork/http. Anything not exported here is internal.

export { instrumentHttp } from './instrument.js';
export type { ForkContextOptions } from './server.js';
export { withForkContext } from './server.js';

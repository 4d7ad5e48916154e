// Public surface of @kubefork/http. Anything not exported here is internal.

export type { ForkStreamOptions, Http2StreamListener } from './http2-server.js';
export { withForkStream } from './http2-server.js';
export { instrumentHttp } from './instrument.js';
export type { ForkContextOptions, Http2RequestListener } from './server.js';
export { withForkContext } from './server.js';

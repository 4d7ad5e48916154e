// Public surface of @kubefork/fetch. Anything not exported here is internal.

export { instrumentFetch } from './channel.js';
export { forkFetch } from './fork-fetch.js';
export type {
  DispatcherComposeInterceptor,
  DispatchLike,
  DispatchOptionsLike,
} from './interceptor.js';
export { forkInterceptor } from './interceptor.js';

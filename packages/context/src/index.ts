// Public surface of @kubefork/context: what a service needs. Helpers for authors of integrations
// are in `@kubefork/context/integration`. Anything exported from neither is internal.

export { mergeBaggage } from './baggage.js';
export type { ForkConfig, ForkOptions, InvalidReason } from './config.js';
export {
  DEFAULT_BAGGAGE_KEY,
  DEFAULT_FORK_ID_PATTERN,
  DEFAULT_HEADER,
  DEFAULT_MAX_LENGTH,
} from './config.js';
export { configure } from './configure.js';
export { extractForkId } from './extract.js';
export type { HeaderBag, HeadersLike, HeaderValue } from './headers.js';
export { forkHeaders } from './outbound.js';
export { getForkId, runWithForkId } from './scope.js';
export { isValidForkId } from './validate.js';

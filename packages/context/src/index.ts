// Public surface of @kubefork/context. Anything not exported here is internal.

export { mergeBaggage } from './baggage.js';
export type { ForkConfig, ForkOptions, InvalidReason } from './config.js';
export {
  DEFAULT_BAGGAGE_KEY,
  DEFAULT_FORK_ID_PATTERN,
  DEFAULT_HEADER,
  DEFAULT_MAX_LENGTH,
} from './config.js';
export { configure, forkConfig } from './configure.js';
export { ERR_INVALID_FORK_ID, ERR_INVALID_OPTION, invalidOption } from './errors.js';
export { extractForkId } from './extract.js';
export type { HeaderBag, HeadersLike, HeaderValue } from './headers.js';
export { installShared } from './install.js';
export { checkOptions, checkTrust, isTrusted } from './options.js';
export type { HeaderAccess } from './outbound.js';
export { forkHeaders, injectForkHeaders, shouldPropagate } from './outbound.js';
export { getForkId, runWithForkId } from './scope.js';
export { isValidForkId, reportInvalidValue } from './validate.js';

import type { Metadata } from '@grpc/grpc-js';
import { checkOptions, checkTrust } from '@kubefork/context/integration';

/** Options of `forkServerInterceptor` and `withForkHandlers`. */
export interface ForkServerOptions {
  /**
   * Whether to accept the fork id of an inbound call. Return false at the public edge so that
   * outside callers cannot pick a fork; the call is then served as baseline. Only a synchronous
   * `true` trusts: a throw, a Promise or any other value counts as false. Default: every call is trusted.
   */
  trust?: (metadata: Metadata, path: string) => boolean;
}

/** The resolved options: `trust` is undefined when every call is trusted. */
export interface ServerSettings {
  readonly trust: ((metadata: Metadata, path: string) => boolean) | undefined;
}

/**
 * Validates server options. Unknown options are mistakes too: a misspelt `trust` would
 * otherwise silently trust every caller.
 */
export function resolveServerOptions(options: ForkServerOptions | undefined): ServerSettings {
  const trust = checkTrust<(metadata: Metadata, path: string) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(metadata, path) => boolean',
  );
  return { trust };
}

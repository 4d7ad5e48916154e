import type { Metadata } from '@grpc/grpc-js';
import { invalidOption } from '@kubefork/context';

/** Options of `forkServerInterceptor` and `withForkHandlers`. */
export interface ForkServerOptions {
  /**
   * Whether to accept the fork id of an inbound call. Return false at the public edge so that
   * outside callers cannot pick a fork; the call is then served as baseline. A throwing
   * function counts as false. Default: every call is trusted.
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
  if (options === undefined) return { trust: undefined };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption('options', options, 'an object');
  }
  for (const key of Object.keys(options)) {
    if (key !== 'trust') {
      throw invalidOption(
        key,
        (options as Record<string, unknown>)[key],
        'one of: trust (unknown option)',
      );
    }
  }
  const { trust } = options;
  if (trust !== undefined && typeof trust !== 'function') {
    throw invalidOption('trust', trust, 'a function (metadata, path) => boolean');
  }
  return { trust };
}

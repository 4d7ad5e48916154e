import type { Metadata } from '@grpc/grpc-js';
import { checkOptions, checkTrust, invalidOption } from '@kubefork/context/integration';

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

/** Options of `forkClientInterceptor`. */
export interface ForkClientOptions {
  /**
   * The channel target the client was created with (`'orders:50051'`, `'dns:///orders:50051'`).
   * With it, the configured `propagateTo` is asked about `http://<host>:<port>` before each call,
   * as for HTTP clients. grpc-js does not tell interceptors the channel's target, hence the
   * option. Default: `propagateTo` is not consulted.
   */
  target?: string;
}

/** The resolved options: `target` is the URL `propagateTo` is asked about, or undefined. */
export interface ClientSettings {
  readonly target: string | undefined;
}

const TARGET_EXPECTED =
  "a channel target 'host:port' such as 'orders:50051' or 'dns:///orders:50051'";

/** Validates client options: `target` must name a host (and port) that makes an `http:` URL. */
export function resolveClientOptions(options: ForkClientOptions | undefined): ClientSettings {
  const target: unknown = checkOptions(options, ['target']).target;
  if (target === undefined) return { target: undefined };
  if (typeof target !== 'string') throw invalidOption('target', target, TARGET_EXPECTED);
  // The dns scheme of gRPC naming: `dns:host:port` or `dns://authority/host:port`.
  const hostPort = target.replace(/^dns:(\/\/[^/]*\/)?/i, '');
  let url: URL;
  try {
    url = new URL(`http://${hostPort}`);
  } catch {
    throw invalidOption('target', target, TARGET_EXPECTED);
  }
  if (hostPort === '' || url.hostname === '' || `${url.host}` !== hostPort.toLowerCase()) {
    throw invalidOption('target', target, TARGET_EXPECTED);
  }
  return { target: `http://${url.host}` };
}

import { type ForkConfig, type ForkOptions, resolveConfig } from './config.js';
import { state } from './store.js';

/**
 * Sets the process-wide options. Every call replaces the whole configuration: options left out
 * return to their defaults, and `configure()` restores all defaults. Throws a `TypeError`
 * (code `ERR_KUBEFORK_INVALID_OPTION`) naming the option and the value on a mistake, leaving
 * the previous configuration in effect.
 *
 * @example
 * configure({
 *   aliases: ['x-fork-identifer'],
 *   propagateTo: (url) => url.hostname.endsWith('.svc.cluster.local'),
 *   onInvalid: (value, reason) => logger.warn({ value, reason }, 'ignored fork id'),
 * });
 */
export function configure(options?: ForkOptions): void {
  state.config = resolveConfig(options);
}

/** The configuration in effect (frozen), for integrations and diagnostics. */
export function forkConfig(): ForkConfig {
  return state.config;
}

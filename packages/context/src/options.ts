// Helpers every kubefork integration uses the same way, so that option mistakes, edge trust and
// reports behave identically in @kubefork/http, express, fastify, grpc and otel.

import { invalidOption } from './errors.js';
import { ignoreOutcome, isThenable } from './settle.js';

/**
 * Checks an integration's options object: `undefined` gives `{}`; anything but a plain object,
 * or a key not in `known` (nor in `passThrough`, keys a framework adds itself), throws the
 * standard `TypeError` naming it. A misspelt `trust` would otherwise silently trust everyone.
 *
 * @example
 * const { trust } = checkOptions(options, ['trust']);
 */
export function checkOptions(
  options: unknown,
  known: readonly string[],
  passThrough: readonly string[] = [],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption('options', options, 'an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key) && !passThrough.includes(key)) {
      const value = (options as Record<string, unknown>)[key];
      throw invalidOption(key, value, `one of: ${known.join(', ')} (unknown option)`);
    }
  }
  return options as Record<string, unknown>;
}

/**
 * Checks a `trust` option: undefined (trust everyone) or a function; `signature` describes it
 * in the error, e.g. `'(req) => boolean'`.
 */
export function checkTrust<T extends (...args: never[]) => unknown>(
  trust: unknown,
  signature: string,
): T | undefined {
  if (trust !== undefined && typeof trust !== 'function') {
    throw invalidOption('trust', trust, `a function ${signature}`);
  }
  return trust as T | undefined;
}

/**
 * Applies an edge `trust` policy: no policy trusts; otherwise only a synchronous `true` does.
 * `false`, a throw, a Promise or any other value fail closed, so a broken or asynchronous
 * policy can never let outside traffic pick a fork.
 */
export function isTrusted<A extends unknown[]>(
  trust: ((...args: A) => unknown) | undefined,
  ...args: A
): boolean {
  if (trust === undefined) return true;
  try {
    const answer = trust(...args);
    if (isThenable(answer)) ignoreOutcome(answer);
    return answer === true;
  } catch {
    return false;
  }
}

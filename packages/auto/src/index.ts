/**
 * @kubefork/auto: importing this module makes every outbound HTTP call of the process carry
 * the fork of the request it serves, through `instrumentHttp()` (node:http, node:https,
 * node:http2) and `instrumentFetch()` (global fetch, undici). It exports nothing.
 *
 * @example
 * // node --import @kubefork/auto server.js
 * // or, first line of the entry module:
 * import '@kubefork/auto';
 */
import { instrumentFetch } from '@kubefork/fetch';
import { instrumentHttp } from '@kubefork/http';

// Once per process even when two copies of this module are loaded (ESM and CJS, or a
// duplicated dependency): both instrument functions are idempotent, but each call would count
// another user that nothing ever releases.
const LOADED = Symbol.for('kubefork.auto.loaded');
const holder = globalThis as { [LOADED]?: true };

if (holder[LOADED] !== true) {
  Object.defineProperty(holder, LOADED, { value: true });
  instrumentHttp();
  instrumentFetch();
}

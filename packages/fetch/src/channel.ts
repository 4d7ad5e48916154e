import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { installShared } from '@kubefork/context/integration';
import { onUndiciRequest, type UndiciRequest } from './undici-request.js';
import { scopeConnection, setConnectionsScoped, unscopeRequests } from './undici-scope.js';

/**
 * Published by undici's `Request` constructor, once per dispatch. Every copy of undici in the
 * process (Node's bundled one behind global fetch, npm undici 6, 7 and 8) publishes on this
 * name, and diagnostics channels are process-wide, so one subscriber reaches them all.
 */
const CREATE_CHANNEL = 'undici:request:create';
/** Published by every undici copy when a client has connected a socket, before it sends on it. */
const CONNECTED_CHANNEL = 'undici:client:connected';

function onRequestCreate(message: unknown): void {
  onUndiciRequest((message as { request: UndiciRequest }).request);
}

function onConnected(message: unknown): void {
  const socket = (message as { socket?: { emit?: unknown } }).socket;
  if (typeof socket?.emit === 'function') {
    scopeConnection(socket as { emit: (...args: never[]) => boolean });
  }
}

function subscribeChannels(): () => void {
  subscribe(CREATE_CHANNEL, onRequestCreate);
  subscribe(CONNECTED_CHANNEL, onConnected);
  setConnectionsScoped(true);
  return () => {
    unsubscribe(CREATE_CHANNEL, onRequestCreate);
    unsubscribe(CONNECTED_CHANNEL, onConnected);
    setConnectionsScoped(false);
    unscopeRequests();
  };
}

/**
 * Makes every request of global `fetch` and of every undici client (`request`, `fetch`,
 * `Client`, `Pool`, `Agent`, composed dispatchers) started inside a fork carry it: the
 * `x-fork-identifier` header exactly once (a value the caller set wins) and our member merged
 * into `baggage`. Each redirect hop and each retry attempt is a new undici request and is
 * judged by `propagateTo` on its own. Returns a function that uninstalls.
 *
 * Installing is idempotent: while installed, further calls only count another user, and the
 * subscription is removed when every returned function has been called (each works once).
 * Requests that never reach undici (a `fetch` replaced by a mocking library, say) are not seen:
 * wrap such a `fetch` with `forkFetch`.
 *
 * @example
 * import { instrumentFetch } from '@kubefork/fetch';
 * const uninstall = instrumentFetch();
 * // … every fetch() and undici request now carries the fork …
 * uninstall();
 */
export function instrumentFetch(): () => void {
  return installShared(Symbol.for('kubefork.fetch.instrumentation'), subscribeChannels);
}

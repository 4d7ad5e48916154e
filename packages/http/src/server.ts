import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, RequestListener } from 'node:http';
import {
  checkOptions,
  checkTrust,
  extractForkId,
  getForkId,
  invalidOption,
  isTrusted,
  runWithForkId,
} from '@kubefork/context';

/** Options of {@link withForkContext}. */
export interface ForkContextOptions {
  /**
   * Decides whether the inbound fork id of a request is honoured. Unless it returns `true`
   * (false, a throw, a Promise) the request is served as baseline whatever its headers say: use it at the public
   * edge so that outside callers cannot pick a fork. Default: every request is trusted.
   */
  trust?: (request: IncomingMessage) => boolean;
}

/**
 * Wraps a `node:http` / `node:https` request listener so that everything it starts, synchronously
 * or asynchronously, runs in the fork of the inbound request: the `x-fork-identifier` header, a
 * configured alias, or the W3C `baggage` member (see `configure` of `@kubefork/context`). A
 * request without a valid fork id runs as baseline; an invalid one is reported to `onInvalid`.
 * The request body's `'data'`/`'end'` listeners run in the fork too.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { withForkContext } from '@kubefork/http';
 * import { getForkId } from '@kubefork/context';
 *
 * createServer(withForkContext((req, res) => res.end(getForkId() ?? 'baseline'))).listen(8080);
 */
export function withForkContext(
  listener: RequestListener,
  options: ForkContextOptions = {},
): RequestListener {
  if (typeof listener !== 'function') {
    throw invalidOption('listener', listener, 'a function (request, response) => void');
  }
  const trust = checkTrust<(request: IncomingMessage) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(request) => boolean',
  );

  return function forkContextListener(this: unknown, request, response) {
    const id = isTrusted(trust, request) ? extractForkId(request.headers) : undefined;
    // Body events arrive in the connection's context (see bindRequestEvents); when that holds no
    // fork and the request has none either, they already see the right thing.
    const rebind = id !== undefined || getForkId() !== undefined;
    runWithForkId(id, () => {
      if (rebind) bindRequestEvents(request);
      listener.call(this, request, response);
    });
  };
}

/**
 * The parser emits a request's `'data'`, `'end'`, `'close'` and `'error'` events from the
 * socket's async context, not the listener's, whenever the body arrives after the headers, so
 * body listeners would see no fork (nodejs/node#33723; verified on Node 20.20, 22.23 and 24.22,
 * where even `'end'` of a body sent together with the headers is affected). Every event of the
 * request is therefore emitted in the context the listener runs in.
 */
function bindRequestEvents(request: IncomingMessage): void {
  const resource = new AsyncResource('kubefork.request');
  const emit = request.emit;
  request.emit = function emitInForkContext(this: IncomingMessage, ...args: unknown[]) {
    return resource.runInAsyncScope(emit, this, ...args);
  } as IncomingMessage['emit'];
}

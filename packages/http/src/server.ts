import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { extractForkId, getForkId, runWithForkId } from '@kubefork/context';
import {
  bindFork,
  checkOptions,
  checkTrust,
  invalidOption,
  isTrusted,
} from '@kubefork/context/integration';

/** Options of {@link withForkContext}; `Request` is what `trust` receives. */
export interface ForkContextOptions<Request = IncomingMessage> {
  /**
   * Decides whether the inbound fork id of a request is honoured. Unless it returns `true`
   * (false, a throw, a Promise) the request is served as baseline whatever its headers say: use it at the public
   * edge so that outside callers cannot pick a fork. Default: every request is trusted.
   */
  trust?: (request: Request) => boolean;
}

/** A request listener of `http2.createServer` / `createSecureServer` (the compatibility API). */
export type Http2RequestListener = (
  request: Http2ServerRequest,
  response: Http2ServerResponse,
) => void;

/**
 * Wraps a request listener of `node:http`, `node:https`, or `node:http2` (`createServer` /
 * `createSecureServer`, the compatibility API) so that everything it starts, synchronously or
 * asynchronously, runs in the fork of the inbound request: the `x-fork-identifier` header, a
 * configured alias, or the W3C `baggage` member (see `configure` of `@kubefork/context`). A
 * request without a valid fork id runs as baseline; an invalid one is reported to `onInvalid`.
 * The request body's `'data'`/`'end'` listeners (and those of an HTTP/2 request's `stream`) run
 * in the fork too.
 *
 * The request and response types follow the server it is given to; when an options object comes
 * first (`http2.createSecureServer(options, …)`) TypeScript cannot infer them: write
 * `withForkContext<Http2ServerRequest>(…)`.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { withForkContext } from '@kubefork/http';
 * import { getForkId } from '@kubefork/context';
 *
 * createServer(withForkContext((req, res) => res.end(getForkId() ?? 'baseline'))).listen(8080);
 */
export function withForkContext<
  Request extends IncomingMessage | Http2ServerRequest = IncomingMessage,
  Response = Request extends Http2ServerRequest ? Http2ServerResponse : ServerResponse,
>(
  listener: (request: Request, response: Response) => void,
  options: ForkContextOptions<Request> = {},
): (request: Request, response: Response) => void {
  if (typeof listener !== 'function') {
    throw invalidOption('listener', listener, 'a function (request, response) => void');
  }
  const trust = checkTrust<(request: IncomingMessage | Http2ServerRequest) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(request) => boolean',
  );
  const serve = listener as (
    this: unknown,
    request: IncomingMessage | Http2ServerRequest,
    response: unknown,
  ) => void;

  return function forkContextListener(
    this: unknown,
    request: IncomingMessage | Http2ServerRequest,
    response: unknown,
  ) {
    const id = isTrusted(trust, request) ? extractForkId(request.headers) : undefined;
    // Node emits the body events of a request from the connection's context, not the listener's,
    // whenever the body arrives after the headers (nodejs/node#33723; on Node 20, 22 and 24 even
    // `'end'` of a body sent with the headers), so they are bound to the request's scope. When
    // the connection holds no fork and the request has none either, they already see no fork.
    const rebind = id !== undefined || getForkId() !== undefined;
    runWithForkId(id, () => {
      if (rebind) {
        bindFork(request);
        // HTTP/2: the request reads its body from the stream, which some handlers use directly.
        const stream = (request as Partial<Http2ServerRequest>).stream;
        if (stream !== undefined && stream !== null) bindFork(stream);
      }
      serve.call(this, request, response);
    });
  };
}

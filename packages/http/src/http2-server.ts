import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { extractForkId, getForkId, runWithForkId } from '@kubefork/context';
import {
  bindFork,
  checkOptions,
  checkTrust,
  invalidOption,
  isTrusted,
} from '@kubefork/context/integration';

/** A `'stream'` listener of an `node:http2` server (the core API). */
export type Http2StreamListener = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/** Options of {@link withForkStream}. */
export interface ForkStreamOptions {
  /**
   * Decides whether the inbound fork id of a stream is honoured. Unless it returns `true`
   * (false, a throw, a Promise) the stream is served as baseline whatever its headers say: use
   * it at the public edge so that outside callers cannot pick a fork. Default: every stream is
   * trusted.
   */
  trust?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;
}

/**
 * Wraps a `'stream'` listener of `http2.createServer` / `createSecureServer` so that everything
 * it starts, synchronously or asynchronously, runs in the fork of the inbound stream's headers
 * (the `x-fork-identifier` header, a configured alias, or the W3C `baggage` member). The stream's
 * own events (`'data'`, `'end'`, `'trailers'`, `'close'`, …) run in the fork too. A stream
 * without a valid fork id runs as baseline; an invalid one is reported to `onInvalid`.
 *
 * @example
 * import { createServer } from 'node:http2';
 * import { withForkStream } from '@kubefork/http';
 * import { getForkId } from '@kubefork/context';
 *
 * createServer()
 *   .on('stream', withForkStream((stream) => {
 *     stream.respond({ ':status': 200 });
 *     stream.end(getForkId() ?? 'baseline');
 *   }))
 *   .listen(8080);
 */
export function withForkStream(
  handler: Http2StreamListener,
  options: ForkStreamOptions = {},
): Http2StreamListener {
  if (typeof handler !== 'function') {
    throw invalidOption('handler', handler, 'a function (stream, headers, flags) => void');
  }
  const trust = checkTrust<(stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(stream, headers) => boolean',
  );

  return function forkStreamListener(this: unknown, stream, headers, flags, rawHeaders) {
    const id = isTrusted(trust, stream, headers) ? extractForkId(headers) : undefined;
    // A stream's 'data', 'end', 'trailers'… are emitted from the session's socket, in its
    // context, so they are bound to the stream's scope. When the session holds no fork and the
    // stream has none either, they already see no fork.
    const rebind = id !== undefined || getForkId() !== undefined;
    runWithForkId(id, () => {
      if (rebind) bindFork(stream);
      handler.call(this, stream, headers, flags, rawHeaders);
    });
  };
}

import { extractForkId, getForkId, runWithForkId } from '@kubefork/context';
import { bindFork, checkOptions, checkTrust, isTrusted } from '@kubefork/context/integration';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { setForkIdProperty } from './fork-id-property.js';

declare global {
  // Express types its request through this global namespace (declaration merging), for
  // Express 4 (@types/express 4) and 5 (@types/express 5) alike.
  namespace Express {
    interface Request {
      /**
       * The fork id of this request, set by `forkContext()`: `undefined` for baseline requests
       * (no fork, an invalid one, or an untrusted sender). The same value as `getForkId()`
       * inside the request's handlers.
       */
      forkId?: string | undefined;
    }
  }
}

/** Options of {@link forkContext}. */
export interface ForkContextOptions {
  /**
   * Whether to honour the fork id this request carries. Only a synchronous `true` keeps it; any
   * other result (false, a Promise, a throw) drops the inbound fork id and the request is served
   * as baseline. Use it at the public edge. Default: every request is trusted.
   */
  trust?: (req: Request) => boolean;
}

/**
 * Express middleware (Express 4 and 5) that reads the request's fork id (header, aliases, then
 * W3C baggage, as configured with `configure`) and runs the rest of the request inside it:
 * `getForkId()` answers in every later middleware, handler and error handler, across `await`
 * and timers, and `@kubefork/auto` adds the fork to the request's outbound calls. Also sets
 * `req.forkId`. Register it first, before body parsers and routes.
 *
 * Invalid or ambiguous values never fail the request: it is served as baseline and `onInvalid`
 * is told. Throws a `TypeError` (code `ERR_KUBEFORK_INVALID_OPTION`) for a bad option.
 *
 * @example
 * import express from 'express';
 * import { forkContext } from '@kubefork/express';
 *
 * const app = express();
 * app.use(forkContext({ trust: (req) => req.get('x-from-mesh') === '1' }));
 * app.get('/', (req, res) => res.json({ fork: req.forkId ?? 'baseline' }));
 */
export function forkContext(options: ForkContextOptions = {}): RequestHandler {
  const trust = checkTrust<(req: Request) => boolean>(
    checkOptions(options, ['trust']).trust,
    '(req) => boolean',
  );

  return function forkContextMiddleware(req: Request, _res: Response, next: NextFunction): void {
    const forkId = isTrusted(trust, req) ? extractForkId(req.headers) : undefined;
    setForkIdProperty(req, forkId);
    // Node emits the body events of a request from the connection's context, not the
    // middleware's, whenever the body arrives after the headers (nodejs/node#33723), so body
    // parsers' 'data'/'end' listeners are bound to the request's scope. When the connection
    // holds no fork and the request has none either, they already see no fork.
    if (forkId === undefined && getForkId() === undefined) {
      runWithForkId(forkId, next);
      return;
    }
    // `run`, never `enterWith`: everything `next` starts, synchronously or later, inherits the
    // scope, and nothing leaks to the next request on the same keep-alive socket.
    runWithForkId(forkId, () => {
      bindFork(req);
      next();
    });
  };
}

import { extractForkId, getForkId, runWithForkId } from '@kubefork/context';
import { bindFork, checkOptions, checkTrust, isTrusted } from '@kubefork/context/integration';
import type {
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The fork id of this request, set by the `forkContext` plugin: `undefined` for baseline
     * requests (no fork, an invalid one, or an untrusted sender). The same value as
     * `getForkId()` inside the request's hooks and handler.
     */
    forkId: string | undefined;
  }
}

/** Options of the {@link forkContext} plugin. */
export interface ForkContextOptions {
  /**
   * Whether to honour the fork id this request carries. Only a synchronous `true` keeps it; any
   * other result (false, a Promise, a throw) drops the inbound fork id and the request is served
   * as baseline. Use it at the public edge. Default: every request is trusted.
   */
  trust?: (request: FastifyRequest) => boolean;
}

/** Options Fastify itself reads from `register(plugin, options)` and passes on to the plugin. */
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'];

/** Marks an instance (and, through inheritance, its children) that already has our hooks. */
const kRegistered = Symbol('kubefork.fastify.registered');
/** The request's continuation bound to its scope by `bindFork` in onRequest. */
const kResume = Symbol('kubefork.fastify.resume');

type Resume = (next: HookHandlerDoneFunction) => void;
type ScopedRequest = FastifyRequest & { [kResume]: Resume | undefined };

const callNext: Resume = (next) => next();
function forkContextPlugin(
  fastify: FastifyInstance,
  options: ForkContextOptions,
  done: (error?: Error) => void,
): void {
  let trust: ForkContextOptions['trust'];
  try {
    trust = readTrust(options);
  } catch (error) {
    done(error as Error);
    return;
  }
  // Registering twice (say, by the app and by a shared plugin) must not run two scopes and two
  // re-entries per request; the first registration wins.
  if (fastify.hasDecorator(kRegistered)) {
    done();
    return;
  }
  fastify.decorate(kRegistered, true);
  // A primitive default: Fastify 5 rejects reference-type request decorations, and a value set
  // in the constructor keeps every request object the same shape.
  fastify.decorateRequest('forkId', undefined);
  fastify.decorateRequest(kResume, undefined);

  fastify.addHook(
    'onRequest',
    function forkOnRequest(
      request: FastifyRequest,
      _reply: FastifyReply,
      next: HookHandlerDoneFunction,
    ): void {
      const forkId = isTrusted(trust, request) ? extractForkId(request.headers) : undefined;
      request.forkId = forkId;
      // Node emits the body events of the raw request from the connection's context whenever
      // the body arrives after the headers (nodejs/node#33723), so a content-type parser's
      // 'data'/'end' listeners are bound to the request's scope. When the connection holds no
      // fork and the request has none either, they already see no fork.
      const rebind = forkId !== undefined || getForkId() !== undefined;
      runWithForkId(forkId, () => {
        if (rebind) bindFork(request.raw);
        (request as ScopedRequest)[kResume] = bindFork(callNext);
        next();
      });
    },
  );

  // A body that arrives after the headers is read in 'data'/'end' callbacks that run outside
  // the request's async context (nodejs/node#33723); so may content-type parsers and
  // middleware that wait for the body. Fastify continues from those callbacks, so before
  // validation, the handler and every later hook, re-enter the request's context where the fork
  // was lost, through the continuation bound in onRequest (which restores every async-local
  // store of the request, OpenTelemetry's included). Checking first keeps the common case free
  // of a second scope.
  fastify.addHook(
    'preValidation',
    function forkPreValidation(
      request: FastifyRequest,
      _reply: FastifyReply,
      next: HookHandlerDoneFunction,
    ): void {
      const forkId = request.forkId;
      const resume = (request as ScopedRequest)[kResume];
      if (getForkId() === forkId) next();
      else if (resume !== undefined) resume(next);
      else runWithForkId(forkId, next);
    },
  );
  done();
}

function readTrust(options: ForkContextOptions): ForkContextOptions['trust'] {
  return checkTrust<(request: FastifyRequest) => boolean>(
    checkOptions(options, ['trust'], REGISTER_OPTIONS).trust,
    '(request) => boolean',
  );
}

// What fastify-plugin would set, written directly so that one build registers on Fastify 4 and
// 5 without a dependency whose majors follow Fastify's: skip-override shares the hooks and the
// decorator with the whole app instead of encapsulating them in a child context.
Object.defineProperties(forkContextPlugin, {
  [Symbol.for('skip-override')]: { value: true },
  [Symbol.for('fastify.display-name')]: { value: '@kubefork/fastify' },
});

/**
 * Fastify plugin (Fastify 4 and 5) that reads each request's fork id (header, aliases, then W3C
 * baggage, as configured with `configure`) and runs the request inside it: `getForkId()`
 * answers in every later hook (`preHandler`, `onSend`, `onResponse`, …), the handler and the
 * error handler, across `await` and timers, and `@kubefork/auto` adds the fork to the
 * request's outbound calls. Also decorates `request.forkId`. Not encapsulated: registered
 * anywhere, it applies to the whole app; registering it again does nothing.
 *
 * Invalid or ambiguous values never fail the request: it is served as baseline and `onInvalid`
 * is told. Registration fails with a `TypeError` (code `ERR_KUBEFORK_INVALID_OPTION`) for a bad
 * option.
 *
 * @example
 * import Fastify from 'fastify';
 * import { forkContext } from '@kubefork/fastify';
 *
 * const app = Fastify();
 * await app.register(forkContext, { trust: (request) => request.headers['x-from-mesh'] === '1' });
 * app.get('/', async (request) => ({ fork: request.forkId ?? 'baseline' }));
 */
export const forkContext: FastifyPluginCallback<ForkContextOptions> = forkContextPlugin;

import { AsyncResource } from 'node:async_hooks';
import { extractForkId, invalidOption, runWithForkId } from '@kubefork/context';
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
/** The request's async context as it was in `onRequest`, re-entered in `preValidation`. */
const kScope = Symbol('kubefork.fastify.scope');

interface ScopedRequest extends FastifyRequest {
  [kScope]: AsyncResource | null;
}

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
  // Primitive defaults only: Fastify 5 rejects reference-type request decorations, and a value
  // set in the constructor keeps every request object the same shape.
  fastify.decorateRequest('forkId', undefined);
  fastify.decorateRequest(kScope, null);

  fastify.addHook(
    'onRequest',
    function forkOnRequest(
      request: FastifyRequest,
      _reply: FastifyReply,
      next: HookHandlerDoneFunction,
    ): void {
      const forkId =
        trust === undefined || isTrusted(trust, request)
          ? extractForkId(request.headers)
          : undefined;
      request.forkId = forkId;
      runWithForkId(forkId, function enterForkScope() {
        (request as ScopedRequest)[kScope] = new AsyncResource('kubefork.fastify');
        next();
      });
    },
  );

  // A body that arrives after the headers is read in 'data'/'end' callbacks that run outside
  // the request's async context (nodejs/node#33723); so do content-type parsers and
  // middleware that wait for the body. Fastify continues from those callbacks, so re-enter the
  // context saved in onRequest before validation, the handler and every later hook.
  fastify.addHook(
    'preValidation',
    function forkPreValidation(
      request: FastifyRequest,
      _reply: FastifyReply,
      next: HookHandlerDoneFunction,
    ): void {
      const scope = (request as ScopedRequest)[kScope];
      if (scope === null) next();
      else scope.runInAsyncScope(next);
    },
  );
  done();
}

function readTrust(options: ForkContextOptions): ForkContextOptions['trust'] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption('options', options, 'an object');
  }
  for (const key of Object.keys(options)) {
    if (key !== 'trust' && !REGISTER_OPTIONS.includes(key)) {
      const value = (options as Record<string, unknown>)[key];
      throw invalidOption(key, value, 'one of: trust (unknown option)');
    }
  }
  const { trust } = options;
  if (trust !== undefined && typeof trust !== 'function') {
    throw invalidOption('trust', trust, 'a function (request) => boolean');
  }
  return trust;
}

function isTrusted(trust: (request: FastifyRequest) => boolean, request: FastifyRequest): boolean {
  try {
    return trust(request) === true;
  } catch {
    // Fail closed: a broken edge check must not let outside traffic pick a fork.
    return false;
  }
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

import { createRequire } from 'node:module';
import { getForkId } from '@kubefork/context';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from '../../../test/support/http-client.js';
import forkContextDefault, { type ForkContextOptions, forkContext } from '../src/index.js';
import { listen, majors, shut } from './support.js';

let app: FastifyInstance | undefined;
let stopPool: (() => void) | undefined;

afterEach(async () => {
  stopPool?.();
  stopPool = undefined;
  await shut(app);
  app = undefined;
});

/**
 * Stands in for a connection pool or a batching client: callbacks queued by any request run
 * later from one timer started outside every request, so they resume in the pool's context,
 * not the request's.
 */
function createPool(): (callback: () => void) => void {
  const waiting: Array<() => void> = [];
  const timer = setInterval(() => {
    for (const callback of waiting.splice(0)) callback();
  }, 2);
  stopPool = () => clearInterval(timer);
  return (callback) => {
    waiting.push(callback);
  };
}

describe.each(majors)('Fastify $major: registering the plugin', ({ fastify, middie }) => {
  it('exports the same plugin as default and as forkContext', () => {
    expect(forkContextDefault).toBe(forkContext);
  });

  it('registers from CommonJS, where require() returns the module namespace', async () => {
    // The built package, as a CommonJS service loads it (require of ESM, Node 20.19+).
    const required = createRequire(import.meta.url)('@kubefork/fastify') as typeof forkContext;
    app = fastify();
    await app.register(required);
    app.get('/', async () => ({ fork: getForkId() ?? null }));
    const base = await listen(app);
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.json()).toEqual({ fork: 'alice' });
  });

  it('keeps the fork for the handler when @fastify/middie middleware resumes outside the request context', async () => {
    const pool = createPool();
    app = fastify();
    await app.register(forkContext);
    await app.register(middie);
    const seen: Record<string, string | null> = {};
    app.use((_req, _res, next) => {
      seen.middleware = getForkId() ?? null;
      pool(() => {
        seen.resumed = getForkId() ?? null;
        next();
      });
    });
    app.get('/', async (request) => ({ fork: getForkId() ?? null, forkId: request.forkId }));
    const base = await listen(app);

    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.json()).toEqual({ fork: 'alice', forkId: 'alice' });
    // The middleware itself runs inside the fork; the pool's callback does not, which is what
    // the plugin's preValidation re-entry repairs for everything after it.
    expect(seen).toEqual({ middleware: 'alice', resumed: null });
  });

  it('is not encapsulated: its hooks reach routes of the app and of encapsulated plugins', async () => {
    app = fastify();
    await app.register(forkContext);
    app.get('/root', async () => ({ fork: getForkId() ?? null }));
    await app.register(async (child) => {
      child.get('/child', async (request) => ({
        fork: getForkId() ?? null,
        forkId: request.forkId,
      }));
    });
    const base = await listen(app);
    const headers = { 'x-fork-identifier': 'alice' };
    expect((await send(base, '/root', { headers })).json()).toEqual({ fork: 'alice' });
    expect((await send(base, '/child', { headers })).json()).toEqual({
      fork: 'alice',
      forkId: 'alice',
    });
  });

  it('does not wrap requests twice when registered twice', async () => {
    let trustCalls = 0;
    const trust = () => {
      trustCalls += 1;
      return true;
    };
    app = fastify();
    await app.register(forkContext, { trust });
    await app.register(forkContext, { trust });
    app.get('/', async () => ({ fork: getForkId() ?? null }));
    const base = await listen(app);
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.json()).toEqual({ fork: 'alice' });
    expect(trustCalls).toBe(1);
  });

  it('fails registration with a TypeError naming trust when trust is not a function', async () => {
    app = fastify();
    const options = { trust: 'yes' } as unknown as ForkContextOptions;
    await expect(app.register(forkContext, options)).rejects.toMatchObject({
      name: 'TypeError',
      code: 'ERR_KUBEFORK_INVALID_OPTION',
      message: 'kubefork: option "trust" must be a function (request) => boolean; received "yes"',
    });
  });

  it('fails registration with a TypeError naming an unknown option', async () => {
    app = fastify();
    const options = { trsut: () => false } as unknown as ForkContextOptions;
    await expect(app.register(forkContext, options)).rejects.toMatchObject({
      code: 'ERR_KUBEFORK_INVALID_OPTION',
      message: expect.stringContaining('option "trsut"'),
    });
  });

  it('accepts the options Fastify itself reads, such as prefix and logLevel', async () => {
    app = fastify();
    await app.register(forkContext, { prefix: '/api', logLevel: 'warn' });
    app.get('/api/x', async () => ({ fork: getForkId() ?? null }));
    const base = await listen(app);
    const res = await send(base, '/api/x', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.json()).toEqual({ fork: 'alice' });
  });
});

import { configure, getForkId, type InvalidReason } from '@kubefork/context';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { send } from '../../../test/support/http-client.js';
import { type ForkContextOptions, forkContext } from '../src/index.js';
import { type FastifyFactory, listen, majors, shut } from './support.js';

let app: FastifyInstance | undefined;

afterEach(async () => {
  configure();
  await shut(app);
  app = undefined;
});

async function start(fastify: FastifyFactory, options: ForkContextOptions = {}): Promise<string> {
  app = fastify();
  await app.register(forkContext, options);
  app.get('/', async (request) => ({ fork: getForkId() ?? null, forkId: request.forkId ?? null }));
  return listen(app);
}

function recordInvalid(): Array<[string, InvalidReason]> {
  const reported: Array<[string, InvalidReason]> = [];
  configure({ onInvalid: (value, reason) => reported.push([value, reason]) });
  return reported;
}

describe.each(majors)('Fastify $major: untrusted and bad input', ({ fastify }) => {
  it('serves an invalid fork id as baseline with 200 and tells onInvalid', async () => {
    const reported = recordInvalid();
    const base = await start(fastify);
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice/../admin' } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ fork: null, forkId: null });
    expect(reported).toEqual([['alice/../admin', 'pattern']]);
  });

  it('serves an over-long fork id as baseline with 200 and tells onInvalid', async () => {
    const reported = recordInvalid();
    const base = await start(fastify);
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'a'.repeat(64) } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ fork: null, forkId: null });
    expect(reported).toEqual([['a'.repeat(64), 'too-long']]);
  });

  it('serves two different fork headers as baseline with 200 and reports them as ambiguous', async () => {
    const reported = recordInvalid();
    const base = await start(fastify);
    const res = await send(base, '/', { headers: { 'x-fork-identifier': ['alice', 'bob'] } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ fork: null, forkId: null });
    expect(reported).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('drops the fork when trust returns false', async () => {
    const base = await start(fastify, { trust: () => false });
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.json()).toEqual({ fork: null, forkId: null });
  });

  it('keeps the fork when trust returns true, and passes trust the Fastify request', async () => {
    const seen: string[] = [];
    const trust = (request: FastifyRequest) => {
      const mark = request.headers['x-from-mesh'];
      seen.push(typeof mark === 'string' ? mark : 'none');
      return mark === '1';
    };
    const base = await start(fastify, { trust });
    const trusted = await send(base, '/', {
      headers: { 'x-fork-identifier': 'alice', 'x-from-mesh': '1' },
    });
    const untrusted = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(trusted.json()).toEqual({ fork: 'alice', forkId: 'alice' });
    expect(untrusted.json()).toEqual({ fork: null, forkId: null });
    expect(seen).toEqual(['1', 'none']);
  });

  it('drops the fork and still serves the request when trust throws', async () => {
    const base = await start(fastify, {
      trust: () => {
        throw new Error('trust is broken');
      },
    });
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ fork: null, forkId: null });
  });

  it('drops the fork when trust returns something other than true, such as a Promise', async () => {
    const trust = (async () => true) as unknown as () => boolean;
    const base = await start(fastify, { trust });
    const res = await send(base, '/', { headers: { 'x-fork-identifier': 'alice' } });
    expect(res.json()).toEqual({ fork: null, forkId: null });
  });
});

import { configure, getForkId } from '@kubefork/context';
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

describe.each(majors)('Fastify $major: untrusted and bad input', ({ fastify }) => {
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
});

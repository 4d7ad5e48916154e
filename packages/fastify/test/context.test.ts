import { setTimeout as sleep } from 'node:timers/promises';
import { getForkId } from '@kubefork/context';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../../test/support/http-client.js';
import { forkContext } from '../src/index.js';
import { listen, majors, shut } from './support.js';

const fork = { 'x-fork-identifier': 'alice' };

/** One observation per hook, per request, keyed by the request's `x-probe` header. */
type Seen = Record<string, string | null>;

describe.each(majors)('Fastify $major: the fork in hooks and handlers', ({ fastify }) => {
  let app: FastifyInstance;
  let base: string;
  const probes = new Map<string, Seen>();
  const responded = new Map<string, () => void>();

  function observe(probe: unknown, hook: string): void {
    if (typeof probe !== 'string') return;
    const seen = probes.get(probe) ?? {};
    seen[hook] = getForkId() ?? null;
    probes.set(probe, seen);
  }

  /** Waits until onResponse has run for `probe`, then returns what every hook saw. */
  function afterResponse(probe: string): Promise<Seen> {
    return new Promise((resolve) => {
      responded.set(probe, () => resolve(probes.get(probe) ?? {}));
    });
  }

  beforeAll(async () => {
    app = fastify();
    await app.register(forkContext);
    app.addHook('preHandler', async (request) => {
      observe(request.headers['x-probe'], 'preHandler');
    });
    app.addHook('onSend', async (request, _reply, payload) => {
      observe(request.headers['x-probe'], 'onSend');
      return payload;
    });
    app.addHook('onResponse', async (request) => {
      const probe = request.headers['x-probe'];
      observe(probe, 'onResponse');
      if (typeof probe === 'string') responded.get(probe)?.();
    });
    app.setErrorHandler(async (error: Error, _request, reply) => {
      reply.code(500);
      return { fork: getForkId() ?? null, error: error.message };
    });
    app.addContentTypeParser('application/vnd.kubefork.test', (_request, payload, done) => {
      // Reads the body in stream callbacks, which run outside the request's context.
      let body = '';
      payload.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      payload.on('end', () => done(null, body));
      payload.on('error', done);
    });

    app.get('/sync', (request, reply) => {
      reply.send({ fork: getForkId() ?? null, forkId: request.forkId ?? null });
    });
    app.get('/async', async () => {
      await sleep(5);
      await Promise.resolve();
      return { fork: getForkId() ?? null };
    });
    app.get('/throw', () => {
      throw new Error('thrown synchronously');
    });
    app.get('/reject', async () => {
      await sleep(5);
      throw new Error('rejected after await');
    });
    app.post('/body', async (request) => {
      await sleep(1);
      return { fork: getForkId() ?? null, body: request.body };
    });
    base = await listen(app);
  });

  afterAll(() => shut(app));

  it('gives a synchronous handler the fork through getForkId() and request.forkId', async () => {
    const res = await send(base, '/sync', { headers: fork });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ fork: 'alice', forkId: 'alice' });
  });

  it('gives the setErrorHandler handler the fork when a handler throws', async () => {
    const res = await send(base, '/throw', { headers: fork });
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ fork: 'alice', error: 'thrown synchronously' });
  });

  it('gives the setErrorHandler handler the fork when an async handler rejects after await', async () => {
    const res = await send(base, '/reject', { headers: fork });
    expect(res.json()).toEqual({ fork: 'alice', error: 'rejected after await' });
  });

  it('gives the preHandler, onSend and onResponse hooks the fork', async () => {
    const done = afterResponse('hooks');
    await send(base, '/async', { headers: { ...fork, 'x-probe': 'hooks' } });
    expect(await done).toEqual({ preHandler: 'alice', onSend: 'alice', onResponse: 'alice' });
  });

  it('keeps the fork in a route whose JSON body arrives 30 ms after the headers', async () => {
    const done = afterResponse('slow-json');
    const res = await send(base, '/body', {
      headers: { ...fork, 'x-probe': 'slow-json' },
      json: { order: 7 },
      bodyDelayMs: 30,
    });
    expect(res.json()).toEqual({ fork: 'alice', body: { order: 7 } });
    expect(await done).toEqual({ preHandler: 'alice', onSend: 'alice', onResponse: 'alice' });
  });

  it('keeps the fork behind a custom content-type parser that reads a slow body', async () => {
    const res = await send(base, '/body', {
      headers: { ...fork, 'content-type': 'application/vnd.kubefork.test' },
      rawBody: 'plain text',
      bodyDelayMs: 30,
    });
    expect(res.json()).toEqual({ fork: 'alice', body: 'plain text' });
  });
});

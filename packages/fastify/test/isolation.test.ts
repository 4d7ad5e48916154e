import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { getForkId } from '@kubefork/context';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barrier, send } from '../../../test/support/http-client.js';
import { forkContext } from '../src/index.js';
import { listen, majors, shut } from './support.js';

describe.each(majors)('Fastify $major: no fork leaks between requests', ({ fastify }) => {
  let app: FastifyInstance;
  let base: string;
  let arrive = barrier(2);

  beforeAll(async () => {
    app = fastify();
    await app.register(forkContext);
    app.get('/socket', async (request) => ({
      fork: getForkId() ?? null,
      port: request.raw.socket.remotePort,
    }));
    app.get('/hold', async () => {
      const before = getForkId() ?? null;
      await arrive();
      return { before, after: getForkId() ?? null };
    });
    app.get<{ Querystring: { delay: string } }>('/echo', async (request) => {
      // Spread the requests over several turns of the event loop so that they interleave.
      await sleep(Number(request.query.delay));
      await new Promise<void>((resolve) => setImmediate(resolve));
      return { fork: getForkId() ?? null };
    });
    base = await listen(app);
  });

  afterAll(() => shut(app));

  it('gives a request without a fork no fork after a forked request on the same keep-alive socket', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(base, '/socket', {
        headers: { 'x-fork-identifier': 'alice' },
        agent,
      });
      const second = await send(base, '/socket', { agent });
      const { port } = first.json<{ port: number }>();
      expect(second.json()).toEqual({ fork: null, port });
      expect(first.json()).toEqual({ fork: 'alice', port });
    } finally {
      agent.destroy();
    }
  });

  it('keeps two requests held open at once each in its own fork', async () => {
    arrive = barrier(2);
    const [a, b] = await Promise.all([
      send(base, '/hold', { headers: { 'x-fork-identifier': 'alice' } }),
      send(base, '/hold', { headers: { 'x-fork-identifier': 'bob' } }),
    ]);
    expect(a.json()).toEqual({ before: 'alice', after: 'alice' });
    expect(b.json()).toEqual({ before: 'bob', after: 'bob' });
  });

  it('answers 1,000 concurrent requests with distinct forks without cross-talk', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1000 });
    try {
      const forks = Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? null : `fork-${i}`));
      const replies = await Promise.all(
        forks.map((fork, i) =>
          send(base, `/echo?delay=${i % 7}`, {
            headers: fork === null ? {} : { 'x-fork-identifier': fork },
            agent,
          }),
        ),
      );
      const seen = replies.map((res) => res.json<{ fork: string | null }>().fork);
      expect(seen).toEqual(forks);
    } finally {
      agent.destroy();
    }
  });
});

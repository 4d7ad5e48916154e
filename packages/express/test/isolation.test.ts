import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { getForkId } from '@kubefork/context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barrier, send } from '../../../test/support/http-client.js';
import { forkContext } from '../src/index.js';
import { majors, type Running, serve } from './support.js';

describe.each(majors)('Express $major: no fork leaks between requests', ({ express }) => {
  let server: Running;
  let arrive = barrier(2);

  beforeAll(async () => {
    const app = express();
    app.use(forkContext());
    app.get('/socket', (req, res) => {
      res.json({ fork: getForkId() ?? null, port: req.socket.remotePort });
    });
    app.get('/hold', async (_req, res) => {
      const before = getForkId() ?? null;
      await arrive();
      res.json({ before, after: getForkId() ?? null });
    });
    app.get('/echo', async (req, res) => {
      // Spread the requests over several turns of the event loop so that they interleave.
      await sleep(Number(req.query.delay));
      await new Promise<void>((resolve) => setImmediate(resolve));
      res.json({ fork: getForkId() ?? null });
    });
    server = await serve(app);
  });

  afterAll(() => server.close());

  it('gives a request without a fork no fork after a forked request on the same keep-alive socket', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(server.base, '/socket', {
        headers: { 'x-fork-identifier': 'alice' },
        agent,
      });
      const second = await send(server.base, '/socket', { agent });
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
      send(server.base, '/hold', { headers: { 'x-fork-identifier': 'alice' } }),
      send(server.base, '/hold', { headers: { 'x-fork-identifier': 'bob' } }),
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
          send(server.base, `/echo?delay=${i % 7}`, {
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

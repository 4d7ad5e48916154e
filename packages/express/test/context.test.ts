import { setTimeout as sleep } from 'node:timers/promises';
import { getForkId, runWithForkId } from '@kubefork/context';
import type { ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../../../test/support/http-client.js';
import { forkContext } from '../src/index.js';
import { majors, type Running, serve } from './support.js';

const fork = { 'x-fork-identifier': 'alice' };

describe.each(majors)('Express $major: the fork in handlers', ({ express }) => {
  let server: Running;

  beforeAll(async () => {
    const app = express();
    app.use(forkContext());
    app.get('/sync', (req, res) => {
      res.json({ fork: getForkId() ?? null, forkId: req.forkId ?? null });
    });
    app.get('/forkid-later', (req, res) => {
      // Read outside the request's async context: req.forkId belongs to the request itself.
      runWithForkId(undefined, () => {
        setTimeout(() => res.json({ fork: getForkId() ?? null, forkId: req.forkId ?? null }), 5);
      });
    });
    app.get('/forkid-assigned', (req, res) => {
      req.forkId = 'carol';
      res.json({ forkId: req.forkId });
    });
    app.get('/throw', () => {
      throw new Error('thrown synchronously');
    });
    app.get('/next-error', async (_req, _res, next) => {
      await sleep(5);
      next(new Error('passed to next after await'));
    });
    app.post('/json', express.json(), (req, res) => {
      res.json({ fork: getForkId() ?? null, body: req.body as unknown });
    });
    app.post('/json-then-wait', express.json(), async (req, res) => {
      await sleep(5);
      res.json({ fork: getForkId() ?? null, body: req.body as unknown });
    });
    const onError: ErrorRequestHandler = (error: Error, _req, res, _next) => {
      res.status(500).json({ fork: getForkId() ?? null, error: error.message });
    };
    app.use(onError);
    server = await serve(app);
  });

  afterAll(() => server.close());

  it('gives a synchronous handler the fork through getForkId() and req.forkId', async () => {
    const res = await send(server.base, '/sync', { headers: fork });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ fork: 'alice', forkId: 'alice' });
  });

  it('keeps req.forkId with the request, also where the async context is lost', async () => {
    const [alice, bob] = await Promise.all([
      send(server.base, '/forkid-later', { headers: fork }),
      send(server.base, '/forkid-later', { headers: { 'x-fork-identifier': 'bob' } }),
    ]);
    expect(alice.json()).toEqual({ fork: null, forkId: 'alice' });
    expect(bob.json()).toEqual({ fork: null, forkId: 'bob' });
  });

  it('lets application code assign req.forkId', async () => {
    const res = await send(server.base, '/forkid-assigned', { headers: fork });
    expect(res.json()).toEqual({ forkId: 'carol' });
  });

  it('gives error middleware the fork when a handler throws', async () => {
    const res = await send(server.base, '/throw', { headers: fork });
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ fork: 'alice', error: 'thrown synchronously' });
  });

  it('gives error middleware the fork when a handler passes an error to next after await', async () => {
    const res = await send(server.base, '/next-error', { headers: fork });
    expect(res.json()).toEqual({ fork: 'alice', error: 'passed to next after await' });
  });

  it('keeps the fork through express.json() when the body arrives 30 ms after the headers', async () => {
    const res = await send(server.base, '/json', {
      headers: fork,
      json: { order: 7 },
      bodyDelayMs: 30,
    });
    expect(res.json()).toEqual({ fork: 'alice', body: { order: 7 } });
  });

  it('keeps the fork after await in a handler behind express.json() with a slow body', async () => {
    const res = await send(server.base, '/json-then-wait', {
      headers: fork,
      json: { order: 8 },
      bodyDelayMs: 30,
    });
    expect(res.json()).toEqual({ fork: 'alice', body: { order: 8 } });
  });
});

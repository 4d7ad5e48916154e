// A handler's outbound calls carry the request's fork once @kubefork/auto is loaded, as it is
// in a service's entry module.
import '@kubefork/auto';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, send } from '../../../test/support/http-client.js';
import {
  closeServers,
  type Downstream,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { forkContext } from '../src/index.js';
import { listen, majors, shut } from './support.js';

describe.each(majors)('Fastify $major: outbound calls from handlers', ({ fastify, middie }) => {
  let downstream: Downstream;
  let app: FastifyInstance;
  let base: string;
  let stopPool: () => void = () => {};

  beforeAll(async () => {
    downstream = await startDownstream();
    // Callbacks queued by a request run from this timer, outside every request's context.
    const waiting: Array<() => void> = [];
    const timer = setInterval(() => {
      for (const callback of waiting.splice(0)) callback();
    }, 2);
    stopPool = () => clearInterval(timer);

    app = fastify();
    await app.register(forkContext, { trust: (request) => !request.headers['x-untrusted'] });
    await app.register(middie);
    app.use('/pooled', (_req, _res, next) => {
      waiting.push(() => next());
    });
    const call = async () => {
      await (await fetch(`${downstream.origin}/by-fetch`)).text();
      await httpGet(`${downstream.origin}/by-http-get`);
      return { ok: true };
    };
    app.post('/call', call);
    app.get('/pooled', call);
    base = await listen(app);
  });

  afterEach(() => {
    downstream.received.length = 0;
  });

  afterAll(async () => {
    stopPool();
    await shut(app);
    await closeServers();
  });

  /** What the downstream service saw, per path: every x-fork-identifier and baggage value. */
  function seenDownstream(): Record<string, { fork: string[]; baggage: string[] }> {
    return Object.fromEntries(
      downstream.received.map(({ path, rawHeaders }) => [
        path,
        {
          fork: valuesOf(rawHeaders, 'x-fork-identifier'),
          baggage: valuesOf(rawHeaders, 'baggage'),
        },
      ]),
    );
  }

  const carried = { fork: ['alice'], baggage: ['x-fork-identifier=alice'] };

  it('sends the fork once with fetch and http.get, after a JSON body that arrived 30 ms late', async () => {
    const res = await send(base, '/call', {
      headers: { 'x-fork-identifier': 'alice' },
      json: { order: 1 },
      bodyDelayMs: 30,
    });
    expect(res.status).toBe(200);
    expect(seenDownstream()).toEqual({ '/by-fetch': carried, '/by-http-get': carried });
  });

  it('sends the fork from a handler behind middleware that resumed outside the request context', async () => {
    await send(base, '/pooled', { headers: { 'x-fork-identifier': 'alice' } });
    expect(seenDownstream()).toEqual({ '/by-fetch': carried, '/by-http-get': carried });
  });
});

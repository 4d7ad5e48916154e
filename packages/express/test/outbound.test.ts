// A handler's outbound calls carry the request's fork once @kubefork/auto is loaded, as it is
// in a service's entry module.
import '@kubefork/auto';
import { configure } from '@kubefork/context';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, send } from '../../../test/support/http-client.js';
import {
  closeServers,
  type Downstream,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { forkContext } from '../src/index.js';
import { majors, type Running, serve } from './support.js';

describe.each(majors)('Express $major: outbound calls from handlers', ({ express }) => {
  let downstream: Downstream;
  let server: Running;

  beforeAll(async () => {
    downstream = await startDownstream();
    const app = express();
    app.use(forkContext({ trust: (req) => req.get('x-untrusted') === undefined }));
    app.post('/call', express.json(), async (_req, res) => {
      await (await fetch(`${downstream.origin}/by-fetch`)).text();
      await httpGet(`${downstream.origin}/by-http-get`);
      res.json({ ok: true });
    });
    server = await serve(app);
  });

  afterEach(() => {
    configure();
    downstream.received.length = 0;
  });

  afterAll(async () => {
    await server.close();
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

  it('sends the fork once with fetch and http.get, after a JSON body that arrived 30 ms late', async () => {
    const res = await send(server.base, '/call', {
      headers: { 'x-fork-identifier': 'alice' },
      json: { order: 1 },
      bodyDelayMs: 30,
    });
    expect(res.status).toBe(200);
    const carried = { fork: ['alice'], baggage: ['x-fork-identifier=alice'] };
    expect(seenDownstream()).toEqual({ '/by-fetch': carried, '/by-http-get': carried });
  });
});

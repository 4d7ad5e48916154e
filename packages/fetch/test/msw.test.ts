// msw 2 answers a mocked global fetch inside its own replacement of globalThis.fetch, before any
// undici request exists, so the diagnostics channel never sees those calls. Wrapping msw's fetch
// with forkFetch after server.listen() is how kubefork and msw combine (see the README).
import { configure, runWithForkId } from '@kubefork/context';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeServers, only, startDownstream, valuesOf } from '../../../test/support/loopback.js';
import { forkFetch, instrumentFetch } from '../src/index.js';

const seen: (string | null)[] = [];
const server = setupServer(
  http.get('http://orders.test/api', ({ request }) => {
    seen.push(request.headers.get('x-fork-identifier'));
    return HttpResponse.text('mocked');
  }),
);

let uninstall: () => void;
beforeAll(() => {
  uninstall = instrumentFetch();
  server.listen({ onUnhandledRequest: 'bypass' });
});
afterAll(() => {
  server.close();
  uninstall();
});
beforeEach(() => {
  seen.length = 0;
});
afterEach(async () => {
  configure();
  await closeServers();
});

describe('instrumentFetch with msw setupServer', () => {
  it('cannot reach msw’s handlers on its own: msw answers before undici', async () => {
    const text = await runWithForkId('alice', async () =>
      (await fetch('http://orders.test/api')).text(),
    );
    expect(text).toBe('mocked');
    expect(seen).toEqual([null]);
  });

  describe('with msw’s fetch wrapped by forkFetch', () => {
    let mswFetch: typeof fetch;
    beforeEach(() => {
      mswFetch = globalThis.fetch;
      globalThis.fetch = forkFetch(globalThis.fetch);
    });
    afterEach(() => {
      globalThis.fetch = mswFetch;
    });

    it('shows the mocked handler the fork of a global fetch made in a fork, once', async () => {
      const text = await runWithForkId('alice', async () =>
        (await fetch('http://orders.test/api')).text(),
      );
      expect(text).toBe('mocked');
      expect(seen).toEqual(['alice']);
    });

    it('shows the mocked handler no fork for a fetch made outside one', async () => {
      await (await fetch('http://orders.test/api')).text();
      expect(seen).toEqual([null]);
    });

    it('sends a request msw passes through to the real server with the header once', async () => {
      const downstream = await startDownstream();
      await runWithForkId('alice', async () => (await fetch(downstream.origin)).text());
      expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
      expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual(['x-fork-identifier=alice']);
    });
  });
});

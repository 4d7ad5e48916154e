import { configure, runWithForkId } from '@kubefork/context';
import { Agent, type Dispatcher, interceptors, Pool, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  only,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { forkInterceptor, instrumentFetch } from '../src/index.js';

const dispatchers: Dispatcher[] = [];

/** An Agent composed with `interceptors` (innermost first), closed after the test. */
function agent(...composed: Dispatcher.DispatcherComposeInterceptor[]): Dispatcher {
  const base = new Agent({ connections: 1 });
  dispatchers.push(base);
  return base.compose(...composed);
}

afterEach(async () => {
  configure();
  await Promise.all(dispatchers.splice(0).map((d) => d.close()));
  await closeServers();
});

async function send(
  url: string,
  dispatcher: Dispatcher,
  headers?: Record<string, string> | string[] | Iterable<[string, string]>,
): Promise<number> {
  const response = await request(url, { dispatcher, headers: headers as Record<string, string> });
  await response.body.dump();
  return response.statusCode;
}

function forkOf(downstream: Downstream): string[] {
  return valuesOf(only(downstream).rawHeaders, 'x-fork-identifier');
}

describe('forkInterceptor', () => {
  it('is accepted by Dispatcher.compose and sends the header and baggage once in a fork', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () => send(downstream.origin, agent(forkInterceptor())));
    expect(forkOf(downstream)).toEqual(['alice']);
    expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual(['x-fork-identifier=alice']);
  });

  describe.each([
    ['an object', { 'X-Fork-Identifier': 'bob', baggage: 'userId=42' }],
    ['a flat array', ['X-Fork-Identifier', 'bob', 'baggage', 'userId=42']],
    [
      'a Map',
      new Map([
        ['X-Fork-Identifier', 'bob'],
        ['baggage', 'userId=42'],
      ]),
    ],
  ])('with headers given as %s', (_shape, headers) => {
    it('keeps the caller’s value once, merges baggage, and leaves the caller’s headers as they were', async () => {
      const downstream = await startDownstream();
      const before = JSON.stringify([
        ...(headers instanceof Map ? headers : Object.entries(headers)),
      ]);
      await runWithForkId('alice', () =>
        send(downstream.origin, agent(forkInterceptor()), headers),
      );
      expect(forkOf(downstream)).toEqual(['bob']);
      expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual([
        'x-fork-identifier=bob,userId=42',
      ]);
      expect(
        JSON.stringify([...(headers instanceof Map ? headers : Object.entries(headers))]),
      ).toBe(before);
    });
  });

  it('sends the header once together with instrumentFetch', async () => {
    const downstream = await startDownstream();
    const uninstall = instrumentFetch();
    try {
      await runWithForkId('alice', () => send(downstream.origin, agent(forkInterceptor())));
    } finally {
      uninstall();
    }
    expect(forkOf(downstream)).toEqual(['alice']);
    expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual(['x-fork-identifier=alice']);
  });

  it('composed before the redirect interceptor, judges each hop with propagateTo', async () => {
    const rejected = await startDownstream();
    const allowed = await startDownstream((_request, response) => {
      response.writeHead(302, { location: `${rejected.origin}/landing` }).end();
    });
    configure({ propagateTo: (url) => url.port === String(allowed.port) });
    const dispatcher = agent(forkInterceptor(), interceptors.redirect({ maxRedirections: 1 }));
    await runWithForkId('alice', () => send(`${allowed.origin}/start`, dispatcher));
    expect(forkOf(allowed)).toEqual(['alice']);
    expect(forkOf(rejected)).toEqual([]);
    expect(valuesOf(only(rejected).rawHeaders, 'baggage')).toEqual([]);
  });

  it('keeps each retry on a connection another fork opened in the request’s fork', async () => {
    let attempts = 0;
    const downstream = await startDownstream((request, response) => {
      if (request.url === '/flaky' && attempts++ === 0) response.writeHead(503).end();
      else response.end('ok');
    });
    const retry = interceptors.retry({ maxRetries: 2, minTimeout: 1, timeoutFactor: 1 });
    const dispatcher = agent(forkInterceptor(), retry);
    await runWithForkId('bob', () => send(`${downstream.origin}/warm-up`, dispatcher));
    await runWithForkId('alice', () => send(`${downstream.origin}/flaky`, dispatcher));
    await send(`${downstream.origin}/after`, dispatcher);
    expect(
      downstream.received.map((r) => `${r.path} ${valuesOf(r.rawHeaders, 'x-fork-identifier')}`),
    ).toEqual(['/warm-up bob', '/flaky alice', '/flaky alice', '/after ']);
    expect(new Set(downstream.received.map((r) => r.remotePort)).size).toBe(1);
  });

  it('on a one-connection Pool, decides each queued request’s fork when it is made', async () => {
    const downstream = await startDownstream((_request, response) => {
      setTimeout(() => response.end('ok'), 20);
    });
    const pool = new Pool(downstream.origin, { connections: 1 });
    dispatchers.push(pool);
    const dispatcher = pool.compose(forkInterceptor());
    const uninstall = instrumentFetch(); // the channel alone would send /b as baseline
    try {
      const sent = [
        runWithForkId('alice', () => send(`${downstream.origin}/a`, dispatcher)),
        runWithForkId('bob', () => send(`${downstream.origin}/b`, dispatcher)),
        send(`${downstream.origin}/c`, dispatcher),
      ];
      await Promise.all(sent);
    } finally {
      uninstall();
    }
    const byPath = Object.fromEntries(
      downstream.received.map((r) => [r.path, valuesOf(r.rawHeaders, 'x-fork-identifier')]),
    );
    expect(byPath).toEqual({ '/a': ['alice'], '/b': ['bob'], '/c': [] });
  });
});

import { channel, hasSubscribers, subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { configure, runWithForkId } from '@kubefork/context';
import { Agent, interceptors, Pool, fetch as undiciFetch, request as undiciRequest } from 'undici';
import { Agent as Undici6Agent, fetch as undici6Fetch, request as undici6Request } from 'undici6';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  only,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { createTestCertificate } from '../../../test/support/tls-cert.js';
import { instrumentFetch } from '../src/index.js';

const CREATE = 'undici:request:create';

/** Sends one GET with `headers` and reads the whole response. */
type Send = (url: string, headers?: Record<string, string>) => Promise<void>;

/** Runs `send` with a fresh dispatcher of its own, closed afterwards. */
async function using<D extends { close(): Promise<void> }>(
  dispatcher: D,
  send: (dispatcher: D) => Promise<unknown>,
): Promise<void> {
  try {
    await send(dispatcher);
  } finally {
    await dispatcher.close();
  }
}

// Importing npm undici makes its Agent the process-wide dispatcher, which global fetch then uses
// too: Node's bundled undici is tested in global-fetch.test.ts, which imports no undici, and the
// undici 6 clients get undici 6 dispatchers explicitly.
const clients: [string, Send][] = [
  [
    'undici fetch',
    async (url, headers) => void (await (await undiciFetch(url, { headers })).text()),
  ],
  // npm undici's request through the global Agent: test/conformance (undici.test.ts).
  [
    'an undici Pool',
    (url, headers) => {
      const { origin, pathname } = new URL(url);
      return using(new Pool(origin), async (pool) =>
        (await pool.request({ method: 'GET', path: pathname, headers })).body.dump(),
      );
    },
  ],
  [
    'an undici Agent',
    (url, headers) =>
      using(new Agent(), async (dispatcher) =>
        (await undiciRequest(url, { headers, dispatcher })).body.dump(),
      ),
  ],
  [
    'undici 6 request',
    (url, headers) =>
      using(new Undici6Agent(), async (dispatcher) =>
        (await undici6Request(url, { headers, dispatcher })).body.dump(),
      ),
  ],
  [
    'undici 6 fetch',
    (url, headers) =>
      using(new Undici6Agent(), async (dispatcher) =>
        (await undici6Fetch(url, { headers, dispatcher })).text(),
      ),
  ],
];

let uninstall: () => void;
beforeEach(() => {
  uninstall = instrumentFetch();
});
afterEach(async () => {
  uninstall();
  configure();
  await closeServers();
});

function forkOf(downstream: Downstream): string[] {
  return valuesOf(only(downstream).rawHeaders, 'x-fork-identifier');
}

function baggageOf(downstream: Downstream): string[] {
  return valuesOf(only(downstream).rawHeaders, 'baggage');
}

describe.each(clients)('instrumentFetch with %s', (_name, send) => {
  it('sends the header and our baggage member exactly once in a fork', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () => send(`${downstream.origin}/a`));
    expect(forkOf(downstream)).toEqual(['alice']);
    expect(baggageOf(downstream)).toEqual(['x-fork-identifier=alice']);
  });

  it('sends neither header nor baggage outside a fork', async () => {
    const downstream = await startDownstream();
    await send(`${downstream.origin}/a`);
    expect(forkOf(downstream)).toEqual([]);
    expect(baggageOf(downstream)).toEqual([]);
  });

  it('keeps a value the caller set and sends it once', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () =>
      send(`${downstream.origin}/a`, { 'X-Fork-Identifier': 'bob' }),
    );
    expect(forkOf(downstream)).toEqual(['bob']);
    expect(baggageOf(downstream)).toEqual(['x-fork-identifier=bob']);
  });

  it('merges our member into the caller’s baggage in place, keeping the other members', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () =>
      send(`${downstream.origin}/a`, { baggage: 'userId=42,x-fork-identifier=stale' }),
    );
    expect(baggageOf(downstream)).toEqual(['x-fork-identifier=alice,userId=42']);
  });
});

describe('instrumentFetch', () => {
  it('sends nothing of ours to a destination propagateTo rejects, and asks with its URL', async () => {
    const allowed = await startDownstream();
    const rejected = await startDownstream();
    const asked: string[] = [];
    configure({
      propagateTo: (url) => {
        asked.push(url.href);
        return url.port === String(allowed.port);
      },
    });
    await runWithForkId('alice', async () => {
      await (await undiciFetch(`${allowed.origin}/in?q=1`)).text();
      const headers = { baggage: 'userId=42' };
      await (await undiciFetch(`${rejected.origin}/out`, { headers })).text();
    });
    expect(forkOf(allowed)).toEqual(['alice']);
    expect(forkOf(rejected)).toEqual([]);
    expect(baggageOf(rejected)).toEqual(['userId=42']);
    expect(asked).toEqual([`${allowed.origin}/in?q=1`, `${rejected.origin}/out`]);
  });

  describe.each([
    ['undici fetch', (url: string) => undiciFetch(url).then((r) => r.text())],
    [
      'undici request with the redirect interceptor',
      (url: string) =>
        using(new Agent().compose(interceptors.redirect({ maxRedirections: 3 })), async (d) =>
          (await undiciRequest(url, { dispatcher: d })).body.dump(),
        ),
    ],
  ])('a cross-origin redirect followed by %s', (_name, follow) => {
    it('carries the fork to the allowed origin only, judging each hop', async () => {
      const rejected = await startDownstream();
      const allowed = await startDownstream((_request, response) => {
        response.writeHead(302, { location: `${rejected.origin}/landing` }).end();
      });
      configure({ propagateTo: (url) => url.port === String(allowed.port) });
      await runWithForkId('alice', () => follow(`${allowed.origin}/start`));
      expect(forkOf(allowed)).toEqual(['alice']);
      expect(only(rejected).path).toBe('/landing');
      expect(forkOf(rejected)).toEqual([]);
      expect(baggageOf(rejected)).toEqual([]);
    });
  });

  it('sends nothing after a fork request on the same connection of a one-connection Pool', async () => {
    const downstream = await startDownstream();
    await using(new Pool(downstream.origin, { connections: 1 }), async (pool) => {
      await runWithForkId('alice', async () =>
        (await pool.request({ method: 'GET', path: '/1' })).body.dump(),
      );
      await (await pool.request({ method: 'GET', path: '/2' })).body.dump();
    });
    const [first, second] = downstream.received;
    expect(second?.remotePort).toBe(first?.remotePort);
    expect(valuesOf(first?.rawHeaders ?? [], 'x-fork-identifier')).toEqual(['alice']);
    expect(valuesOf(second?.rawHeaders ?? [], 'x-fork-identifier')).toEqual([]);
  });

  it('sends the header once on every attempt of the retry interceptor', async () => {
    let attempts = 0;
    const downstream = await startDownstream((_request, response) => {
      attempts++;
      response.writeHead(attempts < 3 ? 503 : 200).end();
    });
    const retry = interceptors.retry({ maxRetries: 3, minTimeout: 1, timeoutFactor: 1 });
    await using(new Agent().compose(retry), async (dispatcher) => {
      const { statusCode, body } = await runWithForkId('alice', () =>
        undiciRequest(downstream.origin, { dispatcher }),
      );
      await body.dump();
      expect(statusCode).toBe(200);
    });
    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      ['alice'],
      ['alice'],
    ]);
  });

  // undici runs response callbacks in the context of the request that opened the connection;
  // the retry and redirect interceptors dispatch the next hop from them.
  describe('on a keep-alive connection another fork opened', () => {
    async function onBobsConnection(
      downstream: Downstream,
      dispatcher: Agent | ReturnType<Agent['compose']>,
      path: string,
      fork: string | undefined,
    ): Promise<void> {
      await runWithForkId('bob', async () =>
        (await undiciRequest(`${downstream.origin}/warm-up`, { dispatcher })).body.dump(),
      );
      await runWithForkId(fork, async () =>
        (await undiciRequest(`${downstream.origin}${path}`, { dispatcher })).body.dump(),
      );
    }

    function hops(downstream: Downstream): string[] {
      return downstream.received.map(
        (r) =>
          `${r.path} ${valuesOf(r.rawHeaders, 'x-fork-identifier').join() || '-'} ${r.remotePort}`,
      );
    }

    it('retries in the fork of the request, not the connection’s', async () => {
      let attempts = 0;
      const downstream = await startDownstream((request, response) => {
        if (request.url === '/flaky' && attempts++ === 0) response.writeHead(503).end();
        else response.end('ok');
      });
      const agent = new Agent({ connections: 1 });
      const retry = interceptors.retry({ maxRetries: 2, minTimeout: 1, timeoutFactor: 1 });
      await using(agent.compose(retry), (d) => onBobsConnection(downstream, d, '/flaky', 'alice'));
      const port = downstream.received[0]?.remotePort;
      expect(hops(downstream)).toEqual([
        `/warm-up bob ${port}`,
        `/flaky alice ${port}`,
        `/flaky alice ${port}`,
      ]);
    });

    it('follows a redirect of a baseline request without any fork', async () => {
      const downstream = await startDownstream((request, response) => {
        if (request.url === '/moved') response.writeHead(302, { location: '/here' }).end();
        else response.end('ok');
      });
      const agent = new Agent({ connections: 1 });
      const redirect = interceptors.redirect({ maxRedirections: 1 });
      await using(agent.compose(redirect), (d) =>
        onBobsConnection(downstream, d, '/moved', undefined),
      );
      const port = downstream.received[0]?.remotePort;
      expect(hops(downstream)).toEqual([
        `/warm-up bob ${port}`,
        `/moved - ${port}`,
        `/here - ${port}`,
      ]);
    });

    it('follows a redirect of a forked request in its own fork', async () => {
      const downstream = await startDownstream((request, response) => {
        if (request.url === '/moved') response.writeHead(302, { location: '/here' }).end();
        else response.end('ok');
      });
      const agent = new Agent({ connections: 1 });
      const redirect = interceptors.redirect({ maxRedirections: 1 });
      await using(agent.compose(redirect), (d) =>
        onBobsConnection(downstream, d, '/moved', 'alice'),
      );
      const port = downstream.received[0]?.remotePort;
      expect(hops(downstream)).toEqual([
        `/warm-up bob ${port}`,
        `/moved alice ${port}`,
        `/here alice ${port}`,
      ]);
    });
  });

  it('sends a baseline request queued behind a forked one on a one-connection Pool without a fork', async () => {
    const downstream = await startDownstream((_request, response) => {
      setTimeout(() => response.end('ok'), 20);
    });
    await using(new Pool(downstream.origin, { connections: 1 }), async (pool) => {
      const forked = runWithForkId('alice', () => pool.request({ method: 'GET', path: '/a' }));
      const baseline = pool.request({ method: 'GET', path: '/b' });
      for (const { body } of await Promise.all([forked, baseline])) await body.dump();
    });
    const byPath = Object.fromEntries(
      downstream.received.map((r) => [r.path, valuesOf(r.rawHeaders, 'x-fork-identifier')]),
    );
    expect(byPath).toEqual({ '/a': ['alice'], '/b': [] });
  });

  it('sends the header once and merges baggage over HTTP/2 (allowH2)', async () => {
    const tls = createTestCertificate();
    const seen: Record<string, unknown>[] = [];
    const server = createSecureServer(tls, (request, response) => {
      seen.push({
        version: request.httpVersion,
        fork: request.headers['x-fork-identifier'],
        baggage: request.headers.baggage,
      });
      response.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await using(new Agent({ allowH2: true, connect: { ca: tls.cert } }), async (dispatcher) => {
        await runWithForkId('alice', async () =>
          (
            await undiciRequest(`${origin}/a`, { dispatcher, headers: { baggage: 'u=1' } })
          ).body.dump(),
        );
        await (await undiciRequest(`${origin}/b`, { dispatcher })).body.dump();
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(seen).toEqual([
      { version: '2.0', fork: 'alice', baggage: 'x-fork-identifier=alice,u=1' },
      { version: '2.0', fork: undefined, baggage: undefined },
    ]);
  });

  it('injects once however often it is installed, and until the last uninstall', async () => {
    const downstream = await startDownstream();
    const send = () => undiciFetch(downstream.origin).then((r) => r.text());
    const second = instrumentFetch();
    await runWithForkId('alice', send);
    second();
    second(); // each uninstall function counts once
    await runWithForkId('alice', send);
    uninstall();
    await runWithForkId('alice', send);
    uninstall = () => {};
    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      ['alice'],
      [],
    ]);
  });

  it('leaves no subscriber and no patched callback behind after the last uninstall', async () => {
    const downstream = await startDownstream();
    let prototype: Record<string, unknown> | undefined;
    const seePrototype = (message: unknown) => {
      prototype = Object.getPrototypeOf((message as { request: object }).request);
    };
    subscribe(CREATE, seePrototype);
    try {
      await runWithForkId('alice', async () => (await undiciFetch(downstream.origin)).text());
    } finally {
      unsubscribe(CREATE, seePrototype);
    }
    expect((prototype?.onComplete as { name?: string } | undefined)?.name).toBe('runInRequestFork');
    uninstall();
    uninstall = () => {};
    expect(hasSubscribers(CREATE)).toBe(false);
    expect(hasSubscribers('undici:client:connected')).toBe(false);
    expect((prototype?.onComplete as { name?: string } | undefined)?.name).toBe('onComplete');
  });

  it('leaves a request of a shape it does not know alone, without throwing', () => {
    // undici 5 kept headers as one string; such a request must go out as its caller built it.
    const legacy = { origin: 'http://127.0.0.1', path: '/', headers: 'accept: */*\r\n' };
    runWithForkId('alice', () => channel(CREATE).publish({ request: legacy }));
    expect(legacy.headers).toBe('accept: */*\r\n');
  });
});

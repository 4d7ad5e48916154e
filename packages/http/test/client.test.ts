import { hasSubscribers, subscribe, unsubscribe } from 'node:diagnostics_channel';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import { configure, runWithForkId } from '@kubefork/context';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeServers, only, startDownstream, valuesOf } from '../../../test/support/loopback.js';
import { createTestCertificate, type TestCertificate } from '../../../test/support/tls-cert.js';
import { instrumentHttp } from '../src/index.js';
import {
  type HttpInstrumentationMode,
  hasRequestCreatedChannel,
  installHttpInstrumentation,
} from '../src/instrument.js';
import { finish } from './support.js';

// The modules' export objects as CommonJS code sees them (the ESM namespaces above are views).
const require = createRequire(import.meta.url);
const httpExports = require('node:http') as typeof http;
const httpsExports = require('node:https') as typeof https;
const CREATED = 'http.client.request.created';

// Node ≥22.12 runs both ways (instrumentHttp picks the channel); older Node only has the patch.
const modes: HttpInstrumentationMode[] = hasRequestCreatedChannel()
  ? ['channel', 'patch']
  : ['patch'];

let tls: TestCertificate;
beforeAll(() => {
  tls = createTestCertificate();
});

describe.each(modes)('instrumentHttp, %s mode', (mode) => {
  let uninstall: () => void;
  beforeEach(() => {
    uninstall = installHttpInstrumentation(mode);
  });
  afterEach(async () => {
    uninstall();
    configure();
    await closeServers();
  });

  it('sends the header and our baggage member exactly once from http.request in a fork', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () => finish(http.request(`${downstream.origin}/a`).end()));
    const { rawHeaders } = only(downstream);
    expect(valuesOf(rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
    expect(valuesOf(rawHeaders, 'baggage')).toEqual(['x-fork-identifier=alice']);
  });

  it('sends neither header nor baggage from http.request outside a fork', async () => {
    const downstream = await startDownstream();
    await finish(http.request(`${downstream.origin}/a`).end());
    const { rawHeaders } = only(downstream);
    expect(valuesOf(rawHeaders, 'x-fork-identifier')).toEqual([]);
    expect(valuesOf(rawHeaders, 'baggage')).toEqual([]);
  });

  it('sends the header exactly once from http.get', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () => finish(http.get(`${downstream.origin}/g`)));
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
  });

  it('sends the header exactly once from the functions CommonJS code gets from require()', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', async () => {
      await finish(httpExports.request(`${downstream.origin}/r`).end());
      await finish(httpExports.get(`${downstream.origin}/g`));
    });
    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      ['alice'],
    ]);
  });

  it('sends the header exactly once from https.request to a TLS server', async () => {
    const downstream = await startDownstream(undefined, tls);
    await runWithForkId('alice', () =>
      finish(https.request(`${downstream.origin}/s`, { ca: tls.cert }).end()),
    );
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
  });

  it('sends the header exactly once from https.get to a TLS server', async () => {
    const downstream = await startDownstream(undefined, tls);
    await runWithForkId('alice', () =>
      finish(https.get(`${downstream.origin}/s`, { ca: tls.cert })),
    );
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
  });

  it('sends the header exactly once when the headers are given as an array', async () => {
    const downstream = await startDownstream();
    const headers = ['Host', `127.0.0.1:${downstream.port}`, 'Accept', 'text/plain'];
    await runWithForkId('alice', () =>
      finish(http.request({ port: downstream.port, host: '127.0.0.1', headers }).end()),
    );
    const { rawHeaders } = only(downstream);
    expect(valuesOf(rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
    expect(valuesOf(rawHeaders, 'baggage')).toEqual(['x-fork-identifier=alice']);
    expect(valuesOf(rawHeaders, 'accept')).toEqual(['text/plain']);
  });

  it('sends the header exactly once from a request with Expect: 100-continue', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () =>
      finish(http.request(downstream.origin, { headers: { expect: '100-continue' } }).end()),
    );
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
  });

  it('keeps a value the caller set and sends it once, with baggage in agreement', async () => {
    const downstream = await startDownstream();
    await runWithForkId('alice', () =>
      finish(http.request(downstream.origin, { headers: { 'X-Fork-Identifier': 'bob' } }).end()),
    );
    const { rawHeaders } = only(downstream);
    expect(valuesOf(rawHeaders, 'x-fork-identifier')).toEqual(['bob']);
    expect(valuesOf(rawHeaders, 'baggage')).toEqual(['x-fork-identifier=bob']);
  });

  it('keeps a value the caller set in array-form headers and sends it once', async () => {
    const downstream = await startDownstream();
    const headers = ['Host', `127.0.0.1:${downstream.port}`, 'X-Fork-Identifier', 'bob'];
    await runWithForkId('alice', () =>
      finish(http.request({ port: downstream.port, host: '127.0.0.1', headers }).end()),
    );
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['bob']);
  });

  it('merges our member into the caller’s baggage, keeping the other members', async () => {
    const downstream = await startDownstream();
    const baggage = 'userId=42,x-fork-identifier=stale;ttl=1,tenant=acme';
    await runWithForkId('alice', () =>
      finish(http.request(downstream.origin, { headers: { Baggage: baggage } }).end()),
    );
    expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual([
      'x-fork-identifier=alice,userId=42,tenant=acme',
    ]);
  });

  it('merges our member into array-form baggage lines, sending one baggage header', async () => {
    const downstream = await startDownstream();
    const headers = ['Host', 'x', 'baggage', 'userId=42', 'Baggage', 'x-fork-identifier=stale'];
    await runWithForkId('alice', () =>
      finish(http.request({ port: downstream.port, host: '127.0.0.1', headers }).end()),
    );
    expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual([
      'x-fork-identifier=alice,userId=42',
    ]);
  });

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
      await finish(http.request(`${allowed.origin}/in?q=1`).end());
      const headers = { baggage: 'userId=42' };
      await finish(http.request(`${rejected.origin}/out`, { headers }).end());
    });
    expect(valuesOf(only(allowed).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
    expect(valuesOf(only(rejected).rawHeaders, 'x-fork-identifier')).toEqual([]);
    expect(valuesOf(only(rejected).rawHeaders, 'baggage')).toEqual(['userId=42']);
    expect(asked).toEqual([
      `http://127.0.0.1:${allowed.port}/in?q=1`,
      `http://127.0.0.1:${rejected.port}/out`,
    ]);
  });

  it('sends nothing on a keep-alive socket after a fork request when the next has no fork', async () => {
    const downstream = await startDownstream();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await runWithForkId('alice', () => finish(http.request(downstream.origin, { agent }).end()));
      await finish(http.request(downstream.origin, { agent }).end());
    } finally {
      agent.destroy();
    }
    const [first, second] = downstream.received;
    expect(second?.remotePort).toBe(first?.remotePort);
    expect(valuesOf(first?.rawHeaders ?? [], 'x-fork-identifier')).toEqual(['alice']);
    expect(valuesOf(second?.rawHeaders ?? [], 'x-fork-identifier')).toEqual([]);
    expect(valuesOf(second?.rawHeaders ?? [], 'baggage')).toEqual([]);
  });

  it('sends a request whose head already went out with its body unchanged, without throwing', async () => {
    const downstream = await startDownstream();
    // Someone ahead of us ends the request with a body at creation: the head is final.
    uninstall();
    const early = (request: http.ClientRequest) => request.end('early body');
    const removeEarly = installAhead(mode, early);
    uninstall = installHttpInstrumentation(mode);
    try {
      const response = await runWithForkId('alice', () =>
        finish(http.request(downstream.origin, { method: 'POST' })),
      );
      expect(response.statusCode).toBe(200);
    } finally {
      uninstall();
      removeEarly();
      uninstall = installHttpInstrumentation(mode);
    }
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual([]);
  });

  it('injects once however often it is installed, and until the last uninstall', async () => {
    const downstream = await startDownstream();
    const second = installHttpInstrumentation(mode);
    await runWithForkId('alice', () => finish(http.get(downstream.origin)));
    second();
    second(); // each uninstall function counts once
    await runWithForkId('alice', () => finish(http.get(downstream.origin)));
    uninstall();
    await runWithForkId('alice', () => finish(http.get(downstream.origin)));
    uninstall = () => {};
    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      ['alice'],
      [],
    ]);
  });
});

/** Runs `hook` on each new request before our instrumentation sees it. */
function installAhead(
  mode: HttpInstrumentationMode,
  hook: (request: http.ClientRequest) => void,
): () => void {
  if (mode === 'channel') {
    const onCreated = (message: unknown) =>
      hook((message as { request: http.ClientRequest }).request);
    subscribe(CREATED, onCreated);
    return () => unsubscribe(CREATED, onCreated);
  }
  const original = httpExports.request;
  httpExports.request = function request(...args: Parameters<typeof http.request>) {
    const request = original(...args);
    hook(request);
    return request;
  } as typeof http.request;
  return () => {
    httpExports.request = original;
  };
}

describe('instrumentHttp, patch mode', () => {
  afterEach(closeServers);

  it('restores the original functions of node:http and node:https on uninstall', () => {
    const before = [httpExports.request, httpExports.get, httpsExports.request, httpsExports.get];
    const uninstall = installHttpInstrumentation('patch');
    expect(httpExports.request).not.toBe(before[0]);
    expect(httpsExports.get).not.toBe(before[3]);
    uninstall();
    expect([httpExports.request, httpExports.get, httpsExports.request, httpsExports.get]).toEqual(
      before,
    );
    expect(http.request).toBe(before[0]); // the ESM live binding too
  });

  it('updates the ESM named exports while installed', () => {
    const original = http.request;
    const uninstall = installHttpInstrumentation('patch');
    try {
      expect(http.request).toBe(httpExports.request);
      expect(http.request).not.toBe(original);
    } finally {
      uninstall();
    }
  });

  it('leaves a wrapper installed over ours working, and ours inert, after uninstall', async () => {
    const downstream = await startDownstream();
    const original = httpExports.request;
    const uninstall = installHttpInstrumentation('patch');
    const ours = httpExports.request;
    let wrapped = 0;
    httpExports.request = function request(...args: Parameters<typeof http.request>) {
      wrapped++;
      return ours(...args);
    } as typeof http.request;
    const theirs = httpExports.request;
    try {
      uninstall();
      expect(httpExports.request).toBe(theirs);
      await runWithForkId('alice', () => finish(httpExports.request(downstream.origin).end()));
    } finally {
      httpExports.request = original;
    }
    expect(wrapped).toBe(1);
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual([]);
  });
});

describe('instrumentHttp', () => {
  afterEach(closeServers);

  it('reaches new http.ClientRequest() where Node publishes the created channel (≥22.12)', async () => {
    const downstream = await startDownstream();
    const uninstall = instrumentHttp();
    try {
      await runWithForkId('alice', () =>
        finish(new http.ClientRequest(`${downstream.origin}/c`).end()),
      );
    } finally {
      uninstall();
    }
    // Before 22.12 only request() and get() are patched: a documented limit.
    const expected = hasRequestCreatedChannel() ? ['alice'] : [];
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(expected);
  });

  it('leaves neither a subscriber nor a patched function behind after uninstall', () => {
    const before = [httpExports.request, httpExports.get, httpsExports.request, httpsExports.get];
    instrumentHttp()();
    expect([httpExports.request, httpExports.get, httpsExports.request, httpsExports.get]).toEqual(
      before,
    );
    expect(hasSubscribers(CREATED)).toBe(false);
  });
});

describe('hasRequestCreatedChannel', () => {
  it('is true from Node 22.12 and 23.2 on, false before', () => {
    expect(
      ['20.19.0', '22.11.0', '22.12.0', '23.1.0', '23.2.0', '24.0.0', '26.1.0'].map((v) =>
        hasRequestCreatedChannel(v),
      ),
    ).toEqual([false, false, true, false, true, true, true]);
  });
});

import { configure, runWithForkId } from '@kubefork/context';
import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import { Request as UndiciRequest, fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  only,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { forkFetch } from '../src/index.js';

// A fetch instrumentFetch is not watching here: npm undici's, with no instrumentation installed.
const foreignFetch = undiciFetch as unknown as typeof fetch;

afterEach(async () => {
  configure();
  await closeServers();
});

function forkOf(downstream: Downstream): string[] {
  return valuesOf(only(downstream).rawHeaders, 'x-fork-identifier');
}

/** A downstream that answers with the method, body and content type it received. */
function echo(): Promise<Downstream> {
  return startDownstream(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    response.end(`${request.method} ${body} ${request.headers['content-type'] ?? '-'}`);
  });
}

describe('forkFetch', () => {
  it('calls the wrapped fetch with the caller’s own arguments outside a fork', async () => {
    const calls: unknown[][] = [];
    const forked = forkFetch(async (...args) => {
      calls.push(args);
      return new Response('ok');
    });
    const init = { headers: { accept: 'text/plain' } };
    await forked('http://orders.test/', init);
    expect(calls).toEqual([['http://orders.test/', init]]);
    expect(calls[0]?.[1]).toBe(init);
  });

  it('keeps the method, headers and body of a Request given as input', async () => {
    const downstream = await echo();
    const forked = forkFetch(foreignFetch);
    // npm undici's fetch takes only its own Request class as a Request.
    const input = new UndiciRequest(downstream.origin, {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain', 'x-extra': '1' },
    });
    const answer = await runWithForkId('alice', async () =>
      (await forked(input as unknown as Request)).text(),
    );
    expect(answer).toBe('POST hello text/plain');
    expect(valuesOf(only(downstream).rawHeaders, 'x-extra')).toEqual(['1']);
    expect(forkOf(downstream)).toEqual(['alice']);
  });

  it('follows a cross-origin redirect itself, sending the fork to the allowed origin only', async () => {
    const rejected = await startDownstream();
    const allowed = await startDownstream((_request, response) => {
      response.writeHead(302, { location: `${rejected.origin}/landing` }).end();
    });
    configure({ propagateTo: (url) => url.port === String(allowed.port) });
    const forked = forkFetch(foreignFetch);
    const response = await runWithForkId('alice', () => forked(`${allowed.origin}/start`));
    expect([response.status, await response.text(), response.redirected, response.url]).toEqual([
      200,
      'ok',
      true,
      `${rejected.origin}/landing`,
    ]);
    expect(forkOf(allowed)).toEqual(['alice']);
    expect(forkOf(rejected)).toEqual([]);
    expect(valuesOf(only(rejected).rawHeaders, 'baggage')).toEqual([]);
  });

  it('continues a POST answered with 303 as a GET without body', async () => {
    const target = await echo();
    const start = await startDownstream((_request, response) => {
      response.writeHead(303, { location: `${target.origin}/result` }).end();
    });
    configure({ propagateTo: () => true });
    const forked = forkFetch(foreignFetch);
    const init = { method: 'POST', body: 'form', headers: { 'content-type': 'text/plain' } };
    const answer = await runWithForkId('alice', async () =>
      (await forked(start.origin, init)).text(),
    );
    expect(answer).toBe('GET  -');
    expect(forkOf(target)).toEqual(['alice']);
  });

  it('sends the body again after a 307', async () => {
    const target = await echo();
    const start = await startDownstream((_request, response) => {
      response.writeHead(307, { location: `${target.origin}/again` }).end();
    });
    configure({ propagateTo: () => true });
    const forked = forkFetch(foreignFetch);
    const init = { method: 'PUT', body: 'data', headers: { 'content-type': 'text/plain' } };
    const answer = await runWithForkId('alice', async () =>
      (await forked(start.origin, init)).text(),
    );
    expect(answer).toBe('PUT data text/plain');
  });

  it('sends the body of a Request given as input again after a 307', async () => {
    const target = await echo();
    const start = await startDownstream((_request, response) => {
      response.writeHead(307, { location: `${target.origin}/again` }).end();
    });
    configure({ propagateTo: () => true });
    const forked = forkFetch(foreignFetch);
    const input = new UndiciRequest(start.origin, {
      method: 'POST',
      body: 'payload',
      headers: { 'content-type': 'text/plain' },
    });
    const answer = await runWithForkId('alice', async () =>
      (await forked(input as unknown as Request)).text(),
    );
    expect(answer).toBe('POST payload text/plain');
    expect(forkOf(target)).toEqual(['alice']);
  });

  it('leaves a redirect the caller handles manually to the caller', async () => {
    const target = await startDownstream();
    const start = await startDownstream((_request, response) => {
      response.writeHead(302, { location: target.origin }).end();
    });
    configure({ propagateTo: () => true });
    const forked = forkFetch(foreignFetch);
    const response = await runWithForkId('alice', () =>
      forked(start.origin, { redirect: 'manual' }),
    );
    expect(response.status).toBe(302);
    expect(target.received).toEqual([]);
  });

  it('rejects like fetch after 20 redirects', async () => {
    const loop = await startDownstream((_request, response) => {
      response.writeHead(302, { location: '/again' }).end();
    });
    configure({ propagateTo: () => true });
    const forked = forkFetch(foreignFetch);
    await expect(runWithForkId('alice', () => forked(loop.origin))).rejects.toThrow(TypeError);
    expect(loop.received).toHaveLength(21);
  });

  it('rejects, rather than throws, when the arguments are invalid', async () => {
    const forked = forkFetch(foreignFetch);
    const call = runWithForkId('alice', () =>
      forked('http://127.0.0.1/', { headers: { 'bad header': 'x' } }),
    );
    expect(call).toBeInstanceOf(Promise);
    await expect(call).rejects.toThrow(TypeError);
  });

  it('returns an already wrapped fetch as it is', () => {
    const forked = forkFetch(foreignFetch);
    expect(forkFetch(forked)).toBe(forked);
  });

  it('wraps global fetch when called without an argument', async () => {
    const downstream = await startDownstream();
    const original = globalThis.fetch;
    globalThis.fetch = foreignFetch;
    try {
      const forked = forkFetch();
      await runWithForkId('alice', async () => (await forked(downstream.origin)).text());
    } finally {
      globalThis.fetch = original;
    }
    expect(forkOf(downstream)).toEqual(['alice']);
  });

  it('rejects a fetchImpl that is not a function with a TypeError naming it', () => {
    expect(() => forkFetch('fetch' as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: ERR_INVALID_OPTION }),
    );
    expect(() => forkFetch('fetch' as never)).toThrow(/option "fetchImpl"/);
  });
});

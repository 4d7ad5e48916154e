// msw 2 intercepts node:http by replacing http.request/get and answering from a mock socket that
// parses what the ClientRequest writes, so headers kubefork sets on the request reach the
// mocked handler, whichever of the two was installed first.
import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import { runWithForkId } from '@kubefork/context';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentHttp } from '../src/index.js';
import { finish } from './support.js';

// msw patches the module object and does not update ESM named exports: use it as CJS does.
const require = createRequire(import.meta.url);
const nodeHttp = require('node:http') as typeof Http;

const seen: (string | null)[] = [];
const server = setupServer(
  http.get('http://orders.test/api', ({ request }) => {
    seen.push(request.headers.get('x-fork-identifier'));
    return HttpResponse.text('mocked');
  }),
);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  seen.length = 0;
});

function listen(): void {
  server.listen({ onUnhandledRequest: 'error' });
  cleanups.push(() => server.close());
}

function instrument(): void {
  cleanups.push(instrumentHttp());
}

describe('instrumentHttp with msw setupServer', () => {
  it('shows the mocked handler the fork of http.request, msw set up after instrumentHttp', async () => {
    instrument();
    listen();
    await runWithForkId('alice', () => finish(nodeHttp.request('http://orders.test/api').end()));
    expect(seen).toEqual(['alice']);
  });

  it('shows the mocked handler the fork of http.get, msw set up before instrumentHttp', async () => {
    listen();
    instrument();
    await runWithForkId('alice', () => finish(nodeHttp.get('http://orders.test/api')));
    expect(seen).toEqual(['alice']);
  });

  it('shows the mocked handler no fork for a request made outside one', async () => {
    instrument();
    listen();
    await finish(nodeHttp.get('http://orders.test/api'));
    expect(seen).toEqual([null]);
  });
});

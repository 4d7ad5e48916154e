// Global fetch on Node's bundled undici. Importing npm undici anywhere in a process makes its
// Agent the dispatcher behind global fetch, so the calls run in a child process
// (fixtures/global-fetch.mjs) while the servers and assertions stay here.
import { configure } from '@kubefork/context';
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, only, startDownstream, valuesOf } from '../../../test/support/loopback.js';
import { runFixture } from './support.js';

interface Step {
  url: string;
  fork?: string;
  headers?: Record<string, string>;
  pause?: boolean;
}

function fetchInChild(steps: Step[], allowPort?: number): Promise<string> {
  return runFixture('global-fetch.mjs', JSON.stringify({ steps, allowPort }));
}

afterEach(async () => {
  configure();
  await closeServers();
});

describe('instrumentFetch with global fetch (Node’s bundled undici)', () => {
  it('carries the fork across a cross-origin redirect to the allowed origin only', async () => {
    const rejected = await startDownstream();
    const allowed = await startDownstream((_request, response) => {
      response.writeHead(307, { location: `${rejected.origin}/landing` }).end();
    });
    await fetchInChild([{ url: `${allowed.origin}/start`, fork: 'alice' }], allowed.port);
    expect(valuesOf(only(allowed).rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
    expect(only(rejected).path).toBe('/landing');
    expect(valuesOf(only(rejected).rawHeaders, 'x-fork-identifier')).toEqual([]);
    expect(valuesOf(only(rejected).rawHeaders, 'baggage')).toEqual([]);
  });

  it('sends nothing after a fork request on the same keep-alive connection', async () => {
    const downstream = await startDownstream();
    await fetchInChild([
      { url: downstream.origin, fork: 'alice' },
      { url: downstream.origin, pause: true },
    ]);
    const [first, second] = downstream.received;
    expect(second?.remotePort).toBe(first?.remotePort);
    expect(valuesOf(first?.rawHeaders ?? [], 'x-fork-identifier')).toEqual(['alice']);
    expect(valuesOf(second?.rawHeaders ?? [], 'x-fork-identifier')).toEqual([]);
    expect(valuesOf(second?.rawHeaders ?? [], 'baggage')).toEqual([]);
  });
});

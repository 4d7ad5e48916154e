// Another subscriber of undici:request:create that adds the fork header and baggage with
// request.addHeader, as OpenTelemetry's undici instrumentation does with @kubefork/otel's
// ForkPropagator. Whichever subscribed first, the server must see each once.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getForkId, runWithForkId } from '@kubefork/context';
import { request as undiciRequest } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  only,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { instrumentFetch } from '../src/index.js';

const CREATE = 'undici:request:create';

interface Added {
  request: { addHeader(name: string, value: string): unknown };
}

/** Adds what OpenTelemetry's propagators would: traceparent, baggage and the fork header. */
function otherInjector(message: unknown): void {
  const id = getForkId();
  if (id === undefined) return;
  const { request } = message as Added;
  request.addHeader('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  request.addHeader('baggage', `x-fork-identifier=${id},userId=42`);
  request.addHeader('x-fork-identifier', id);
}

const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await closeServers();
});

function install(order: 'other first' | 'kubefork first'): void {
  if (order === 'other first') subscribe(CREATE, otherInjector);
  cleanups.push(instrumentFetch());
  if (order === 'kubefork first') subscribe(CREATE, otherInjector);
  cleanups.push(() => unsubscribe(CREATE, otherInjector));
}

async function send(downstream: Downstream, headers: Record<string, string> = {}): Promise<void> {
  const response = await undiciRequest(`${downstream.origin}/`, { headers });
  await response.body.dump();
}

describe.each(['other first', 'kubefork first'] as const)('%s', (order) => {
  it('sends the fork header once and one baggage header with our member once', async () => {
    install(order);
    const downstream = await startDownstream();
    await runWithForkId('alice', () => send(downstream));
    const { rawHeaders } = only(downstream);
    expect(valuesOf(rawHeaders, 'x-fork-identifier')).toEqual(['alice']);
    const baggage = valuesOf(rawHeaders, 'baggage');
    expect(baggage).toHaveLength(1);
    expect(baggage[0]?.split(',').filter((m) => m.startsWith('x-fork-identifier='))).toEqual([
      'x-fork-identifier=alice',
    ]);
    expect(baggage[0]).toContain('userId=42');
  });

  it('keeps the header the caller set, once, and baggage agrees with it', async () => {
    install(order);
    const downstream = await startDownstream();
    await runWithForkId('alice', () => send(downstream, { 'x-fork-identifier': 'bob' }));
    const { rawHeaders } = only(downstream);
    expect(valuesOf(rawHeaders, 'x-fork-identifier')).toEqual(['bob']);
    expect(valuesOf(rawHeaders, 'baggage')[0]).toMatch(/^x-fork-identifier=bob,/);
  });

  it("lets the other subscriber's own headers through", async () => {
    install(order);
    const downstream = await startDownstream();
    await runWithForkId('alice', () => send(downstream));
    expect(valuesOf(only(downstream).rawHeaders, 'traceparent')).toHaveLength(1);
  });
});

it('leaves two different header values of the caller as they are, adding no copy', async () => {
  install('other first');
  const downstream = await startDownstream();
  await runWithForkId('alice', async () => {
    const response = await undiciRequest(`${downstream.origin}/`, {
      headers: ['x-fork-identifier', 'bob', 'x-fork-identifier', 'carol'],
    });
    await response.body.dump();
  });
  expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual(['bob', 'carol']);
});

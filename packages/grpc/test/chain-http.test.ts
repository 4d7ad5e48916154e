// The outbound HTTP half of the chain: a gRPC handler's fetch and node:http calls carry the
// call's fork when @kubefork/auto instruments the process.
import '@kubefork/auto';
import { get } from 'node:http';
import type { handleBidiStreamingCall, handleUnaryCall } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import {
  bidi,
  echoService,
  type Json,
  metadataOf,
  type ProbeClient,
  probeClient,
  SERVER_SETUPS,
  unary,
} from './support.js';

function httpGet(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      response.resume();
      response.on('end', resolve);
    }).on('error', reject);
  });
}

/** Handlers that call `downstream` over HTTP: unary with fetch and node:http, bidi per message. */
function httpCallingService(downstream: Downstream) {
  const callUnary: handleUnaryCall<Json, Json> = (_call, callback) => {
    fetch(`${downstream.origin}/fetch`)
      .then((response) => response.text())
      .then(() => httpGet(`${downstream.origin}/http`))
      .then(
        () => callback(null, {}),
        (error: Error) => callback(error),
      );
  };
  const callBidi: handleBidiStreamingCall<Json, Json> = (call) => {
    const pending: Promise<void>[] = [];
    call.on('data', () => {
      pending.push(
        fetch(`${downstream.origin}/data`).then(async (response) => {
          await response.text();
          call.write({});
        }),
      );
    });
    call.on('end', () => {
      Promise.all(pending).then(
        () => call.end(),
        (error: Error) => call.destroy(error),
      );
    });
  };
  return { ...echoService, unary: callUnary, bidi: callBidi };
}

describe.each(SERVER_SETUPS)('a $name handler calling an HTTP service', (setup) => {
  const open: { close(): void }[] = [];

  afterEach(async () => {
    for (const closable of open.splice(0).reverse()) closable.close();
    await closeServers();
  });

  async function chain(): Promise<{ client: ProbeClient; downstream: Downstream }> {
    const downstream = await startDownstream();
    const server = await setup.start(httpCallingService(downstream));
    open.push(server);
    const client = probeClient(server.port);
    open.push(client);
    return { client, downstream };
  }

  function forkHeaders(downstream: Downstream) {
    return downstream.received.map(({ path, rawHeaders }) => ({
      path,
      header: valuesOf(rawHeaders, 'x-fork-identifier'),
      baggage: valuesOf(rawHeaders, 'baggage'),
    }));
  }

  it('passes the fork on to fetch and node:http from a unary handler', async () => {
    const { client, downstream } = await chain();
    await unary(client, {}, metadataOf(['x-fork-identifier', 'alice']));
    expect(forkHeaders(downstream)).toEqual(
      ['/fetch', '/http'].map((path) => ({
        path,
        header: ['alice'],
        baggage: ['x-fork-identifier=alice'],
      })),
    );
  });

  it('passes the fork on to fetch from every data event of a bidi stream', async () => {
    const { client, downstream } = await chain();
    await bidi(client, [{ n: 1 }, { n: 2 }, { n: 3 }], metadataOf(['x-fork-identifier', 'bob']));
    expect(forkHeaders(downstream)).toEqual(
      [1, 2, 3].map(() => ({
        path: '/data',
        header: ['bob'],
        baggage: ['x-fork-identifier=bob'],
      })),
    );
  });

  it('passes nothing on for a call without a fork', async () => {
    const { client, downstream } = await chain();
    await unary(client, {});
    expect(forkHeaders(downstream)).toEqual([
      { path: '/fetch', header: [], baggage: [] },
      { path: '/http', header: [], baggage: [] },
    ]);
  });
});

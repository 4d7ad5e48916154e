import type { handleBidiStreamingCall, handleUnaryCall } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { forkClientInterceptor } from '../src/index.js';
import {
  bidi,
  echoService,
  type Json,
  metadataOf,
  type ProbeClient,
  probeClient,
  type Received,
  type RunningServer,
  SERVER_SETUPS,
  startServer,
  unary,
} from './support.js';

/** A service whose handlers call `downstream` and reply with what it received. */
function relayService(downstream: ProbeClient) {
  const relayUnary: handleUnaryCall<Json, Json> = (_call, callback) => {
    unary(downstream, {}).then(
      (reply) => callback(null, reply),
      (error: Error) => callback(error),
    );
  };
  // One outbound call per inbound message, made inside the 'data' event.
  const relayBidi: handleBidiStreamingCall<Json, Json> = (call) => {
    const pending: Promise<void>[] = [];
    call.on('data', () => {
      pending.push(unary(downstream, {}).then((reply) => void call.write(reply)));
    });
    call.on('end', () => {
      Promise.all(pending).then(
        () => call.end(),
        (error: Error) => call.destroy(error),
      );
    });
  };
  return { ...echoService, unary: relayUnary, bidi: relayBidi };
}

describe.each(SERVER_SETUPS)('a $name handler calling another gRPC service', (setup) => {
  const open: { close(): void }[] = [];

  afterEach(() => {
    for (const closable of open.splice(0).reverse()) closable.close();
  });

  async function chain(): Promise<ProbeClient> {
    const last = await startServer(echoService);
    open.push(last);
    const downstream = probeClient(last.port, { interceptors: [forkClientInterceptor()] });
    open.push(downstream);
    const first: RunningServer = await setup.start(relayService(downstream));
    open.push(first);
    const client = probeClient(first.port);
    open.push(client);
    return client;
  }

  it('passes the fork on from a unary handler', async () => {
    const reply = await unary(await chain(), {}, metadataOf(['x-fork-identifier', 'alice']));
    expect(reply).toEqual({ header: ['alice'], baggage: ['x-fork-identifier=alice'] });
  });

  it('passes the fork on from every data event of a bidi stream', async () => {
    const replies = await bidi(
      await chain(),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
      metadataOf(['baggage', 'x-fork-identifier=bob']),
    );
    expect(replies).toEqual(
      [1, 2, 3].map(() => ({ header: ['bob'], baggage: ['x-fork-identifier=bob'] })),
    );
  });

  it('passes nothing on for a call without a fork', async () => {
    expect(await unary(await chain(), {})).toEqual({ header: [], baggage: [] } satisfies Received);
  });
});

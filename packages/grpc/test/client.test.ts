import { AsyncLocalStorage } from 'node:async_hooks';
import { InterceptingCall, type Interceptor, Metadata } from '@grpc/grpc-js';
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forkClientInterceptor } from '../src/index.js';
import {
  type CALL_TYPES,
  callOfType,
  echoService,
  metadataOf,
  type ProbeClient,
  probeClient,
  type Received,
  type RunningServer,
  startServer,
} from './support.js';

describe('forkClientInterceptor', () => {
  let server: RunningServer;
  let client: ProbeClient;

  beforeAll(async () => {
    server = await startServer(echoService);
    client = probeClient(server.port, { interceptors: [forkClientInterceptor()] });
  });

  afterAll(() => {
    client.close();
    server.close();
  });

  afterEach(() => configure());

  async function receivedBy(
    type: (typeof CALL_TYPES)[number],
    metadata = new Metadata(),
    over = client,
  ): Promise<Received> {
    const [received] = (await callOfType(type, over, [], metadata)) as Received[];
    return received!;
  }

  it('adds nothing in an explicitly baseline scope inside a fork', async () => {
    const received = await runWithForkId('alice', () =>
      runWithForkId(undefined, () => receivedBy('unary')),
    );
    expect(received).toEqual({ header: [], baggage: [] });
  });

  it('keeps the other baggage members of the caller', async () => {
    const metadata = metadataOf(['baggage', 'userId=42,x-fork-identifier=bob']);
    const received = await runWithForkId('alice', () => receivedBy('unary', metadata));
    expect(received).toEqual({ header: ['alice'], baggage: ['x-fork-identifier=alice,userId=42'] });
  });

  it('does not write the fork into a Metadata object the caller reuses', async () => {
    const shared = metadataOf(['x-request-source', 'batch']);
    await runWithForkId('alice', () => receivedBy('unary', shared));
    expect(shared.toJSON()).toEqual({ 'x-request-source': ['batch'] });
    expect(await receivedBy('unary', shared)).toEqual({ header: [], baggage: [] });
  });

  it('sends no baggage when baggage is disabled', async () => {
    configure({ baggageKey: null });
    const received = await runWithForkId('alice', () => receivedBy('unary'));
    expect(received).toEqual({ header: ['alice'], baggage: [] });
  });

  it('uses the fork of the moment the call is made when an earlier interceptor starts it later', async () => {
    // Starts calls from a timer created outside any fork: the start step runs without context.
    const queue: (() => void)[] = [];
    const timer = setInterval(() => {
      for (const start of queue.splice(0)) start();
    }, 1);
    const deferStart: Interceptor = (options, nextCall) =>
      new InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          queue.push(() => next(metadata, listener));
        },
      });
    const deferred = probeClient(server.port, {
      interceptors: [deferStart, forkClientInterceptor()],
    });
    try {
      const received = await runWithForkId('alice', () =>
        receivedBy('unary', new Metadata(), deferred),
      );
      expect(received).toEqual({ header: ['alice'], baggage: ['x-fork-identifier=alice'] });
    } finally {
      clearInterval(timer);
      deferred.close();
    }
  });

  it('still makes the call when the configured header is not a legal gRPC metadata key', async () => {
    configure({ header: 'X-Fork!' });
    const received = await runWithForkId('alice', () => receivedBy('unary'));
    expect(received).toEqual({ header: [], baggage: [] });
  });

  describe('with target', () => {
    it('asks propagateTo about http://<target> and sends nothing when it says no', async () => {
      const target = `127.0.0.1:${server.port}`;
      const judged = probeClient(server.port, {
        interceptors: [forkClientInterceptor({ target: `dns:///${target}` })],
      });
      const seen: string[] = [];
      try {
        configure({
          propagateTo: (url) => {
            seen.push(url.href);
            return false;
          },
        });
        for (const type of ['unary', 'bidi'] as const) {
          const received = await runWithForkId('alice', () =>
            receivedBy(type, new Metadata(), judged),
          );
          expect(received).toEqual({ header: [], baggage: [] });
        }
        expect(seen).toEqual([`http://${target}/`, `http://${target}/`]);
        configure({ propagateTo: (url) => url.port === String(server.port) });
        const received = await runWithForkId('alice', () =>
          receivedBy('serverStream', new Metadata(), judged),
        );
        expect(received).toEqual({ header: ['alice'], baggage: ['x-fork-identifier=alice'] });
      } finally {
        judged.close();
      }
    });

    it('does not consult propagateTo without a target', async () => {
      configure({ propagateTo: () => false });
      const received = await runWithForkId('alice', () => receivedBy('unary'));
      expect(received).toEqual({ header: ['alice'], baggage: ['x-fork-identifier=alice'] });
    });
  });

  describe('response steps', () => {
    const other = new AsyncLocalStorage<string>();

    /** The fork and the other store's value in each 'data', 'end' and 'status' of a bidi call. */
    function bidiEvents(over: ProbeClient): Promise<string[]> {
      return new Promise((resolve, reject) => {
        const seen: string[] = [];
        const where = (event: string) =>
          `${event}:${getForkId() ?? '-'}:${other.getStore() ?? '-'}`;
        const call = over.bidi(new Metadata());
        call.on('data', () => seen.push(where('data')));
        // 'end' and 'status' come in either order: done when both have run, sorted.
        const done = (event: string) => {
          seen.push(where(event));
          if (seen.length === 3) resolve(seen.sort());
        };
        call.on('end', () => done('end'));
        call.on('status', () => done('status'));
        call.on('error', reject);
        call.write({});
        setTimeout(() => call.end(), 5);
      });
    }

    it("run every event of a stream in the call's fork and async context, not the channel's", async () => {
      const fresh = probeClient(server.port, { interceptors: [forkClientInterceptor()] });
      try {
        // The first call opens the channel (and its HTTP/2 session) in fork erin.
        await other.run('e', () => runWithForkId('erin', () => bidiEvents(fresh)));
        const dave = await other.run('d', () => runWithForkId('dave', () => bidiEvents(fresh)));
        expect(dave).toEqual(['data:dave:d', 'end:dave:d', 'status:dave:d']);
        const baseline = await bidiEvents(fresh);
        expect(baseline).toEqual(['data:-:-', 'end:-:-', 'status:-:-']);
      } finally {
        fresh.close();
      }
    });
  });
});

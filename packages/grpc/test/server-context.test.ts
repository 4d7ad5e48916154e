import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { getForkId } from '@kubefork/context';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CALL_TYPES,
  type CallType,
  callOfType,
  metadataOf,
  type Observation,
  observingService,
  type ProbeClient,
  probeClient,
  type RunningServer,
  SERVER_SETUPS,
} from './support.js';

const MESSAGES = [{ n: 1 }, { n: 2 }, { n: 3 }];

/** The points each call type's probe handler observes, in the order it reports them. */
const POINTS: Record<CallType, string[]> = {
  unary: ['start', 'await', 'timer'],
  clientStream: ['start', 'await', 'timer', 'data', 'data', 'data', 'end'],
  serverStream: ['start', 'await', 'timer'],
  // Bidi replies to each 'data' at once, then reports the rest.
  bidi: ['data', 'data', 'data', 'start', 'await', 'timer', 'end'],
};

function points(observations: unknown[]): string[] {
  return (observations as Observation[]).map((observation) => observation.point);
}

function forks(observations: unknown[]): (string | null)[] {
  return (observations as Observation[]).map((observation) => observation.fork);
}

describe.each(SERVER_SETUPS)('$name', (setup) => {
  let server: RunningServer | undefined;
  let client: ProbeClient | undefined;

  afterEach(() => {
    client?.close();
    server?.close();
    client = server = undefined;
  });

  async function connect(
    options?: Parameters<typeof setup.start>[1],
    implementation: UntypedServiceImplementation = observingService,
  ): Promise<ProbeClient> {
    server = await setup.start(implementation, options);
    client = probeClient(server.port);
    return client;
  }

  describe.each(CALL_TYPES)('%s call', (type) => {
    it('sees the inbound fork at the start, after await, in timers and in every stream event', async () => {
      const replies = await callOfType(
        type,
        await connect(),
        MESSAGES,
        metadataOf(['x-fork-identifier', 'alice']),
      );
      expect(points(replies)).toEqual(POINTS[type]);
      expect(forks(replies)).toEqual(POINTS[type].map(() => 'alice'));
    });
  });

  describe.each(['clientStream', 'bidi'] as const)('%s call read after an await', (type) => {
    it('sees the fork in every buffered message delivered later', async () => {
      const replies = await callOfType(
        type,
        await connect(),
        MESSAGES,
        metadataOf(['x-fork-identifier', 'bob'], ['x-test-late', '1']),
      );
      const late = (replies as Observation[]).filter((o) => o.point.startsWith('late-'));
      expect(late.map((o) => o.point)).toEqual(['late-data', 'late-data', 'late-data', 'late-end']);
      expect(late.map((o) => o.fork)).toEqual(['bob', 'bob', 'bob', 'bob']);
    });
  });

  it('delivers the cancelled event of a call in its fork', async () => {
    let started!: () => void;
    let cancelled!: (fork: string | null) => void;
    const handlerStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const cancelledIn = new Promise<string | null>((resolve) => {
      cancelled = resolve;
    });
    const connected = await connect(undefined, {
      ...observingService,
      unary: (call: ServerUnaryCall<unknown, unknown>) => {
        call.on('cancelled', () => cancelled(getForkId() ?? null));
        started();
      },
    });
    const call = connected.unary({}, metadataOf(['x-fork-identifier', 'frank']), () => {});
    await handlerStarted;
    call.cancel();
    expect(await cancelledIn).toBe('frank');
  });

  it('passes the metadata and the method path to trust', async () => {
    const asked: [string[], string][] = [];
    const replies = await callOfType(
      'unary',
      await connect({
        trust: (metadata, path) => {
          asked.push([metadata.get('x-edge').map(String), path]);
          return metadata.get('x-edge').length === 0;
        },
      }),
      MESSAGES,
      metadataOf(['x-fork-identifier', 'alice']),
    );
    expect(asked).toEqual([[[], '/kubefork.test.Probe/Unary']]);
    expect(forks(replies)).toEqual(['alice', 'alice', 'alice']);
  });
});

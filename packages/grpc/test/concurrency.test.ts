import { runWithForkId } from '@kubefork/context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkClientInterceptor } from '../src/index.js';
import {
  bidi,
  type Observation,
  observingService,
  type ProbeClient,
  probeClient,
  type RunningServer,
  SERVER_SETUPS,
  unary,
} from './support.js';

/** Call i runs in fork `fork-i`, except every tenth, which runs as baseline. */
function forkOf(i: number): string | undefined {
  return i % 10 === 0 ? undefined : `fork-${i}`;
}

/** Every observation whose fork is not the call's own: cross-talk. */
function crossTalk(results: unknown[][]): { call: number; observation: Observation }[] {
  return results.flatMap((observations, i) =>
    (observations as Observation[])
      .filter((observation) => observation.fork !== (forkOf(i) ?? null))
      .map((observation) => ({ call: i, observation })),
  );
}

describe.each(SERVER_SETUPS)(
  'concurrent calls with distinct forks on one channel, $name',
  (setup) => {
    let server: RunningServer;
    let client: ProbeClient;

    beforeAll(async () => {
      server = await setup.start(observingService);
      // One client, one channel: every call shares the HTTP/2 connection.
      client = probeClient(server.port, { interceptors: [forkClientInterceptor()] });
    });

    afterAll(() => {
      client.close();
      server.close();
    });

    it('1,000 unary calls each see only their own fork', { timeout: 60_000 }, async () => {
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          runWithForkId(forkOf(i), async () => [await unary(client, { i })].flat()),
        ),
      );
      expect(results.every((observations) => observations.length === 3)).toBe(true);
      expect(crossTalk(results)).toEqual([]);
    });

    it('100 bidi streams each see only their own fork in every message', {
      timeout: 60_000,
    }, async () => {
      const messages = Array.from({ length: 5 }, (_, n) => ({ n }));
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          runWithForkId(forkOf(i), () => bidi(client, messages)),
        ),
      );
      // 5 'data' echoes, then start, await, timer and end.
      expect(results.every((observations) => observations.length === 9)).toBe(true);
      expect(crossTalk(results)).toEqual([]);
    });
  },
);

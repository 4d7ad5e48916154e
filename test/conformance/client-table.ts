// The client cases, shared by the files that install the client integrations differently
// (clients.test.ts: process-wide instrumentation; opt-in.test.ts: per-client opt-ins).
import { configure, getForkId, runWithForkId } from '@kubefork/context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientCase,
  type ClientRow,
  type EchoServers,
  type OpenClient,
  startEchoServers,
} from './client-rows.js';
import { type Fork, forkIds } from './support.js';

const HEADER = 'x-fork-identifier';

function test(row: ClientRow, name: ClientCase) {
  return row.gaps?.includes(name) ? it.fails : it;
}

/** The headers a call in `id` must have delivered. */
function carried(id: Fork) {
  return id === null ? { header: [], baggage: [] } : { header: [id], baggage: [`${HEADER}=${id}`] };
}

/** Runs every client case for every row; `install` sets up the integrations (returns undo functions). */
export function describeClients(
  rows: readonly ClientRow[],
  install: () => Array<() => void>,
): void {
  let servers: EchoServers;
  const uninstall: Array<() => void> = [];

  beforeAll(async () => {
    uninstall.push(...install());
    servers = await startEchoServers();
  });

  afterAll(async () => {
    for (const undo of uninstall) undo();
    await servers?.close();
  });

  describe.each(rows.map((row) => ({ row, name: row.name })))('$name', ({ row }) => {
    let client: OpenClient;

    beforeAll(() => {
      client = row.open(servers.targets);
    });

    afterAll(() => client?.close());

    test(row, 'emission')('sends the fork once in the header and once in baggage', async () => {
      const { echo } = await runWithForkId('alice', () => client.call({}));
      expect(echo).toEqual(carried('alice'));
    });

    test(row, 'baseline')('sends no fork outside a fork', async () => {
      const { echo } = await client.call({});
      expect(echo).toEqual(carried(null));
    });

    test(row, 'exactly-once')(
      'adds nothing twice when the caller already set the fork',
      async () => {
        const { echo } = await runWithForkId('alice', () =>
          client.call({ [HEADER]: 'alice', baggage: `other=1,${HEADER}=alice` }),
        );
        expect(echo.header).toEqual(['alice']);
        expect(echo.baggage).toHaveLength(1);
        const members = (echo.baggage[0] ?? '').split(',').map((member) => member.trim());
        expect(members.sort()).toEqual(['other=1', `${HEADER}=alice`]);
      },
    );

    test(row, 'caller-wins')(
      'leaves a header the caller set and merges other baggage',
      async () => {
        const { echo } = await runWithForkId('alice', () =>
          client.call({ [HEADER]: 'bob', baggage: 'other=1' }),
        );
        expect(echo.header).toEqual(['bob']);
        expect(echo.baggage).toHaveLength(1);
        expect((echo.baggage[0] ?? '').split(',').map((member) => member.trim())).toContain(
          'other=1',
        );
      },
    );

    test(row, 'propagate-to')('sends nothing where propagateTo says no', async () => {
      const seen: string[] = [];
      configure({
        propagateTo: (url) => {
          seen.push(url.hostname);
          return false;
        },
      });
      try {
        const { echo } = await runWithForkId('alice', () => client.call({}));
        expect(echo).toEqual(carried(null));
        expect(seen).toContain('127.0.0.1');
      } finally {
        configure();
      }
    });

    test(row, 'isolation')('keeps 50 interleaved calls in their own forks', async () => {
      const ids: Fork[] = [...forkIds(40), ...Array<Fork>(10).fill(null)];
      const results = await Promise.all(
        ids.map((id) => runWithForkId(id ?? undefined, () => client.call({}))),
      );
      results.forEach(({ echo, events }, i) => {
        const id = ids[i] ?? null;
        expect(echo, `call ${i}`).toEqual(carried(id));
        // Events are checked here too unless the row's response-events case is a known gap.
        if (!row.gaps?.includes('response-events')) {
          expect(events, `call ${i}`).toEqual(Array(events.length).fill(id));
        }
      });
    });

    test(row, 'after-await')('is still in the fork after awaiting the call', async () => {
      const after = await runWithForkId('alice', async () => {
        await client.call({});
        return getForkId();
      });
      expect(after).toBe('alice');
    });

    test(row, 'response-events')('runs response callbacks and events in the fork', async () => {
      // Earlier calls (other forks) opened the connections: a fork that was never used before
      // shows a leak from them.
      await runWithForkId('erin', () => client.call({}));
      const { events } = await runWithForkId('dave', () => client.call({}));
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events).toEqual(Array(events.length).fill('dave'));
    });
  });
}

// Every server integration runs the same cases (rows: server-rows.ts). Real servers on
// 127.0.0.1 with free ports; the process-wide configuration adds an alias and records every
// ignored inbound value.
import { configure } from '@kubefork/context';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServer, SERVER_ROWS, type ServerCase, type ServerRow } from './server-rows.js';
import { type Fork, forkIds, invalid, type Observation } from './support.js';

const HEADER = 'x-fork-identifier';
const ALIAS = 'x-fork-identifer';

beforeAll(() => {
  configure({ aliases: [ALIAS], onInvalid: (value, reason) => invalid.push({ value, reason }) });
});

afterAll(() => configure());

beforeEach(() => {
  invalid.length = 0;
});

/** `it`, or `it.fails` where the row lists the case as a known gap. */
function test(row: ServerRow, name: ServerCase) {
  return row.gaps?.includes(name) ? it.fails : it;
}

/** The fork the handler saw in each place that every row observes. */
function everywhere(observation: Observation): Fork[] {
  return [observation.sync, observation.afterAwait, observation.timeout, observation.immediate];
}

describe.each(SERVER_ROWS.map((row) => ({ row, name: row.name })))('$name', ({ row }) => {
  let server: RunningServer;
  let meshOnly: RunningServer;

  beforeAll(async () => {
    server = await row.start({});
    meshOnly = await row.start({ meshOnly: true });
  });

  afterAll(async () => {
    await server?.close();
    await meshOnly?.close();
  });

  test(row, 'capture')(
    'captures the fork from the header, else from baggage; the header wins',
    async () => {
      expect((await server.call({ [HEADER]: 'alice' })).sync).toBe('alice');
      expect((await server.call({ baggage: `other=1,${HEADER}=bob` })).sync).toBe('bob');
      const both = await server.call({ [HEADER]: 'alice', baggage: `${HEADER}=bob` });
      expect(both.sync).toBe('alice');
      expect((await server.call({})).sync).toBeNull();
      expect(invalid).toEqual([]);
    },
  );

  test(row, 'alias-precedence')(
    'reads a configured alias after the header and before baggage',
    async () => {
      expect((await server.call({ [ALIAS]: 'carol' })).sync).toBe('carol');
      expect((await server.call({ [ALIAS]: 'carol', baggage: `${HEADER}=bob` })).sync).toBe(
        'carol',
      );
      expect((await server.call({ [HEADER]: 'alice', [ALIAS]: 'alice' })).sync).toBe('alice');
      // Two different values in the header and the alias are ambiguous: baseline, reported.
      expect((await server.call({ [HEADER]: 'alice', [ALIAS]: 'carol' })).sync).toBeNull();
      expect(invalid.map(({ reason }) => reason)).toEqual(['ambiguous']);
    },
  );

  test(row, 'trust')('ignores the fork of a peer that trust rejects', async () => {
    expect((await meshOnly.call({ [HEADER]: 'alice', 'x-from-mesh': '1' })).sync).toBe('alice');
    const untrusted = await meshOnly.call({ [HEADER]: 'alice' });
    expect(everywhere(untrusted)).toEqual([null, null, null, null]);
    expect((await meshOnly.call({ baggage: `${HEADER}=bob` })).sync).toBeNull();
    // A trust that throws or answers with a Promise does not trust; the request is still served.
    expect((await meshOnly.call({ [HEADER]: 'alice', 'x-from-mesh': 'throw' })).sync).toBeNull();
    expect((await meshOnly.call({ [HEADER]: 'alice', 'x-from-mesh': 'promise' })).sync).toBeNull();
    // An ignored peer's value is not even looked at, so nothing is reported.
    expect(invalid).toEqual([]);
  });

  test(row, 'invalid')(
    'serves invalid values as baseline and reports each to onInvalid',
    async () => {
      const cases: Array<[Record<string, string | string[]>, string, string]> = [
        [{ [HEADER]: 'bad value' }, 'bad value', 'characters'],
        [{ [HEADER]: 'a'.repeat(64) }, 'a'.repeat(64), 'too-long'],
        [{ [HEADER]: '-leading-dash' }, '-leading-dash', 'pattern'],
        [{ [HEADER]: ['alice', 'bob'] }, 'alice, bob', 'ambiguous'],
        [{ baggage: `${HEADER}=%zz` }, `${HEADER}=%zz`, 'malformed'],
        // An invalid header is not replaced by a valid baggage member.
        [{ [HEADER]: 'bad value', baggage: `${HEADER}=bob` }, 'bad value', 'characters'],
      ];
      for (const [headers, value, reason] of cases) {
        invalid.length = 0;
        const observation = await server.call(headers);
        expect(everywhere(observation), JSON.stringify(headers)).toEqual([null, null, null, null]);
        expect(invalid, JSON.stringify(headers)).toEqual([{ value, reason }]);
      }
    },
  );

  test(row, 'isolation')('keeps 50 interleaved requests in their own forks', async () => {
    const ids: Fork[] = [...forkIds(40), ...Array<Fork>(10).fill(null)];
    const observations = await Promise.all(
      ids.map((id) => server.call(id === null ? {} : { [HEADER]: id })),
    );
    observations.forEach((observation, i) => {
      const id = ids[i] ?? null;
      expect(everywhere(observation), `request ${i}`).toEqual([id, id, id, id]);
      // Body events are checked here too unless the row's body-events case is a known gap.
      if (row.body && !row.gaps?.includes('body-events')) {
        expect([...(observation.data ?? []), observation.end], `request ${i}`).toEqual(
          Array((observation.data ?? []).length + 1).fill(id),
        );
      }
    });
  });

  test(row, 'after-await')('keeps the fork across await', async () => {
    const observation = await server.call({ [HEADER]: 'alice' });
    expect(observation.afterAwait).toBe('alice');
  });

  test(row, 'timers')('keeps the fork in setTimeout and setImmediate callbacks', async () => {
    const observation = await server.call({ [HEADER]: 'alice' });
    expect([observation.timeout, observation.immediate]).toEqual(['alice', 'alice']);
  });

  if (row.body) {
    test(row, 'body-events')("runs the body's 'data' and 'end' listeners in the fork", async () => {
      const observation = await server.call({ [HEADER]: 'alice' });
      expect(observation.data?.length).toBeGreaterThanOrEqual(1);
      expect([...(observation.data ?? []), observation.end]).toEqual(
        Array((observation.data ?? []).length + 1).fill('alice'),
      );
    });
  }
});

import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, startDownstream, valuesOf } from '../../../test/support/loopback.js';
import { runFixture } from './support.js';

afterEach(closeServers);

const COUNT = 80;
/** The fork fixtures/isolation.mjs gives request n, and what it must come out as. */
const EXPECTED = ['alice', 'bob', 'baseline', 'baseline'];

describe('many interleaved requests of different forks', () => {
  it('each carry their own fork, and only theirs, to every outbound call', async () => {
    const downstream = await startDownstream();
    const out = await runFixture(
      ['--import', '@kubefork/auto'],
      'isolation.mjs',
      downstream.origin,
      String(COUNT),
    );

    const answers = JSON.parse(out) as string[];
    expect(answers).toEqual(Array.from({ length: COUNT }, (_, n) => EXPECTED[n % 4]));

    const outbound = new Map<string, string[]>();
    for (const r of downstream.received) {
      const query = new URL(r.path, downstream.origin).searchParams;
      outbound.set(
        `${query.get('via')} ${query.get('n')}`,
        valuesOf(r.rawHeaders, 'x-fork-identifier'),
      );
    }
    expect(outbound.size).toBe(COUNT * 2);
    for (let n = 0; n < COUNT; n++) {
      const fork = EXPECTED[n % 4];
      const carried = fork === 'baseline' ? [] : [fork];
      expect([outbound.get(`http ${n}`), outbound.get(`fetch ${n}`)], `request ${n}`).toEqual([
        carried,
        carried,
      ]);
    }
  });
});

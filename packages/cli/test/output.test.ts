import { describe, expect, it } from 'vitest';
import { humanDuration, render, table } from '../src/output.js';

describe('output', () => {
  it('aligns table columns to the widest cell, three spaces apart, without trailing spaces', () => {
    expect(
      table(
        ['FORK ID', 'READY'],
        [
          ['alice', 'True'],
          ['a-much-longer-id', 'False'],
        ],
      ),
    ).toBe('FORK ID            READY\nalice              True\na-much-longer-id   False\n');
  });

  it('renders JSON and YAML-1.1-safe YAML of the same data', () => {
    const data = { items: [{ forkId: 'no', ready: 'True' }] };
    expect(render('json', data, () => '')).toBe(`${JSON.stringify(data, null, 2)}\n`);
    expect(render('yaml', data, () => '')).toBe('items:\n  - forkId: "no"\n    ready: "True"\n');
    expect(render('table', data, () => 'table\n')).toBe('table\n');
  });

  it('writes durations with two units at most', () => {
    expect(humanDuration(8 * 3_600_000 - 30_000)).toBe('7h59m');
    expect(humanDuration(2 * 86_400_000 + 3_600_000 + 60_000)).toBe('2d1h');
    expect(humanDuration(45_000)).toBe('45s');
    expect(humanDuration(-1)).toBe('0s');
  });
});

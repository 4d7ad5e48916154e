// How a message's header table is read and written, without a broker.
import { configure, extractForkId, getForkId, runWithForkId } from '@kubefork/context';
import { afterEach, describe, expect, it } from 'vitest';
import { inboundCarrier, tableAccess, textOf } from '../src/header-table.js';
import { withFork } from '../src/publish.js';

afterEach(() => configure());

describe('tableAccess', () => {
  it('reads a header in any case, several spellings joined', () => {
    expect(tableAccess.get({ 'X-Fork-Identifier': 'a' }, 'x-fork-identifier')).toBe('a');
    expect(tableAccess.get({ Baggage: 'k=v', baggage: 'x=y' }, 'baggage')).toBe('k=v, x=y');
    expect(tableAccess.get({ other: 'a' }, 'x-fork-identifier')).toBeUndefined();
  });

  it('writes under the caller’s spelling and drops other spellings', () => {
    const table: Record<string, unknown> = { Baggage: 'k=v', BAGGAGE: 'x=y' };
    tableAccess.set(table, 'baggage', 'merged');
    expect(table).toEqual({ Baggage: 'merged' });
  });
});

describe('textOf', () => {
  it('turns AMQP field values into text', () => {
    expect(textOf('alice')).toBe('alice');
    expect(textOf(42)).toBe('42');
    expect(textOf(Buffer.from('alice'))).toBe('alice');
    expect(textOf(['a', Buffer.from('b')])).toEqual(['a', 'b']);
  });

  it('describes values that are not text with a space, which no fork id holds', () => {
    expect(textOf(true)).toBe('[not text: boolean]');
    expect(textOf({ nested: 'alice' })).toBe('[not text: object]');
    expect(textOf(null)).toBe('[not text: null]');
  });
});

describe('inboundCarrier', () => {
  it('hands a table of strings and numbers to the core as it is', () => {
    const table = { 'x-fork-identifier': 'alice', 'x-delivery-count': 2 };
    expect(inboundCarrier(table)).toBe(table);
  });

  it('does not fall back to baggage when the header is there but not text', () => {
    const reports: string[] = [];
    configure({ onInvalid: (_value, reason) => reports.push(reason) });
    const carrier = inboundCarrier({
      'x-fork-identifier': { value: 'alice' },
      baggage: 'x-fork-identifier=bob',
    });
    expect(extractForkId(carrier)).toBeUndefined();
    expect(reports).toEqual(['characters']);
  });
});

describe('withFork', () => {
  it('returns the caller’s options untouched outside a fork', () => {
    const options = { headers: { a: 'b' } };
    expect(withFork(options)).toBe(options);
    expect(withFork(undefined)).toBeUndefined();
  });

  it('copies options and headers inside a fork, adding ours', () => {
    const options = { persistent: true, headers: { a: 'b' } };
    const result = runWithForkId('alice', () => withFork(options));
    expect(result).toEqual({
      persistent: true,
      headers: { a: 'b', 'x-fork-identifier': 'alice', baggage: 'x-fork-identifier=alice' },
    });
    expect(options).toEqual({ persistent: true, headers: { a: 'b' } });
  });

  it('leaves its own copy alone when handed it again (sendToQueue calls publish)', () => {
    const copy = runWithForkId('alice', () => withFork(undefined));
    expect(runWithForkId('bob', () => withFork(copy))).toBe(copy);
  });

  it('passes options amqplib would refuse on unchanged, for amqplib’s own error', () => {
    runWithForkId('alice', () => {
      expect(withFork('nonsense')).toBe('nonsense');
      expect(withFork({ headers: 'nonsense' })).toEqual({ headers: 'nonsense' });
    });
  });

  it('writes nothing when baggage is disabled but still the header', () => {
    configure({ baggageKey: null });
    expect(runWithForkId('alice', () => withFork({}))).toEqual({
      headers: { 'x-fork-identifier': 'alice' },
    });
    expect(getForkId()).toBeUndefined();
  });
});

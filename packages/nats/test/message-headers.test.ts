// How NATS headers are read and written, without a server.
import { configure, extractForkId, runWithForkId } from '@kubefork/context';
import { headers, type MsgHdrs } from '@nats-io/nats-core';
import { afterEach, describe, expect, it } from 'vitest';
import { forkNats, runInMessageFork } from '../src/index.js';
import { headersAccess, inboundCarrier } from '../src/message-headers.js';
import { withFork } from '../src/outbound.js';

afterEach(() => configure());

const record = (h: MsgHdrs) => Object.fromEntries(h.keys().map((k) => [k, h.values(k)]));

function of(entries: Record<string, string[]>): MsgHdrs {
  const h = headers();
  for (const [key, values] of Object.entries(entries)) for (const v of values) h.append(key, v);
  return h;
}

describe('headersAccess', () => {
  it('reads a header in any case, several values joined', () => {
    const h = of({ 'X-Fork-Identifier': ['a'], baggage: ['k=v', 'x=y'] });
    expect(headersAccess.get(h, 'x-fork-identifier')).toBe('a');
    expect(headersAccess.get(h, 'baggage')).toBe('k=v, x=y');
    expect(headersAccess.get(h, 'other')).toBeUndefined();
  });

  it('replaces every spelling with one value', () => {
    const h = of({ Baggage: ['k=v'], BAGGAGE: ['x=y'] });
    headersAccess.set(h, 'baggage', 'merged');
    expect(h.values('baggage', 'insensitive')).toEqual(['merged']);
  });
});

describe('inboundCarrier', () => {
  it('reads names without case, all spellings together, so different values are ambiguous', () => {
    const reports: string[] = [];
    configure({ onInvalid: (_value, reason) => reports.push(reason) });
    const carrier = inboundCarrier(of({ 'X-Fork-Identifier': ['a'], 'x-fork-identifier': ['b'] }));
    expect(carrier.get('x-fork-identifier')).toBe('a, b');
    expect(carrier.get('baggage')).toBeNull();
    expect(extractForkId(carrier)).toBeUndefined();
    expect(reports).toEqual(['ambiguous']);
    expect(extractForkId(inboundCarrier(of({ Baggage: ['k=v', 'x-fork-identifier=alice'] })))).toBe(
      'alice',
    );
  });
});

describe('withFork', () => {
  it('returns options untouched outside a fork', () => {
    const options = { headers: headers() };
    expect(withFork(options)).toBe(options);
    expect(withFork(undefined)).toBeUndefined();
  });

  it('copies headers inside a fork and adds ours once, also when handed its own copy', () => {
    const given = of({ other: ['kept'] });
    const result = runWithForkId('alice', () => withFork({ headers: given, timeout: 5 })) as {
      headers: MsgHdrs;
      timeout: number;
    };
    expect(result.timeout).toBe(5);
    expect(record(result.headers)).toEqual({
      other: ['kept'],
      'x-fork-identifier': ['alice'],
      baggage: ['x-fork-identifier=alice'],
    });
    expect(record(given)).toEqual({ other: ['kept'] });
    expect(runWithForkId('bob', () => withFork(result))).toBe(result);
  });

  it('passes options nats.js would refuse on unchanged', () => {
    runWithForkId('alice', () => {
      expect(withFork('nonsense')).toBe('nonsense');
      expect(withFork({ headers: 'nonsense' })).toEqual({ headers: 'nonsense' });
    });
  });
});

describe('setup mistakes', () => {
  it('forkNats refuses something that is not a connection, and bad options', () => {
    expect(() => forkNats({})).toThrow(
      'kubefork: option "connection" must be a nats.js NatsConnection; received [object Object]',
    );
    const connection = { publish() {}, request() {}, subscribe() {} };
    expect(() => forkNats(connection, { trust: 1 as never })).toThrow(
      'kubefork: option "trust" must be a function (message) => boolean; received 1',
    );
    expect(forkNats(connection)).toBe(connection);
  });

  it('runInMessageFork runs a message whose headers cannot be read as baseline, and says so', () => {
    const reports: string[] = [];
    configure({ onInvalid: (value, reason) => reports.push(`${reason}: ${value}`) });
    const broken = {
      subject: 's',
      get headers(): MsgHdrs {
        throw new Error('bad header block');
      },
    };
    expect(runInMessageFork(broken, () => 'ran')).toBe('ran');
    expect(reports).toEqual(['malformed: (undecodable NATS header block)']);
  });
});

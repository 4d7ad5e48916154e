import { configure, type InvalidReason, runWithForkId } from '@kubefork/context';
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import {
  CompositePropagator,
  suppressTracing,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ForkPropagator } from '../src/index.js';

afterEach(() => configure());

type Carrier = Record<string, string | string[]>;

const fork = new ForkPropagator();
const composite = new CompositePropagator({
  propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new ForkPropagator()],
});

function extract(
  carrier: Carrier,
  propagator: TextMapPropagator = fork,
  base: Context = ROOT_CONTEXT,
): Context {
  return propagator.extract(base, carrier, defaultTextMapGetter);
}

function inject(
  context: Context,
  carrier: Carrier = {},
  propagator: TextMapPropagator = fork,
): Carrier {
  propagator.inject(context, carrier, defaultTextMapSetter);
  return carrier;
}

function baggageEntry(context: Context, key = 'x-fork-identifier'): string | undefined {
  return propagation.getBaggage(context)?.getEntry(key)?.value;
}

/** Every member of a serialized baggage value named `key`. */
function members(baggage: string | string[] | undefined, key = 'x-fork-identifier'): string[] {
  if (typeof baggage !== 'string') return [];
  return baggage
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member.startsWith(`${key}=`));
}

function withBaggage(entries: Record<string, string>, base: Context = ROOT_CONTEXT): Context {
  const baggage = propagation.createBaggage(
    Object.fromEntries(Object.entries(entries).map(([key, value]) => [key, { value }])),
  );
  return propagation.setBaggage(base, baggage);
}

function recordInvalid(): Array<[string, InvalidReason]> {
  const seen: Array<[string, InvalidReason]> = [];
  configure({ onInvalid: (value, reason) => seen.push([value, reason]) });
  return seen;
}

describe('ForkPropagator.extract', () => {
  it('puts the header value into the context as a baggage entry', () => {
    expect(baggageEntry(extract({ 'x-fork-identifier': 'alice' }))).toBe('alice');
  });

  it('keeps the fork under its own key too, so inject finds it without baggage', () => {
    const extracted = extract({ 'x-fork-identifier': 'alice' });
    const withoutBaggage = propagation.deleteBaggage(extracted);
    expect(inject(withoutBaggage)['x-fork-identifier']).toBe('alice');
  });

  it('reads a configured alias header', () => {
    configure({ aliases: ['x-fork-identifer'] });
    expect(baggageEntry(extract({ 'x-fork-identifer': 'alice' }))).toBe('alice');
  });

  it('reads the baggage member when no header is present', () => {
    const extracted = extract({ baggage: 'userId=42,x-fork-identifier=alice' });
    expect(inject(propagation.deleteBaggage(extracted))['x-fork-identifier']).toBe('alice');
  });

  it('accepts a header the carrier holds twice with the same value', () => {
    expect(baggageEntry(extract({ 'x-fork-identifier': ['alice', 'alice'] }))).toBe('alice');
  });

  it('returns the same context when the carrier brings no fork', () => {
    const base = withBaggage({ userId: '42' });
    expect(extract({ accept: '*/*' }, fork, base)).toBe(base);
  });

  it('ignores an invalid header, tells onInvalid and adds nothing', () => {
    const seen = recordInvalid();
    const extracted = extract({ 'x-fork-identifier': 'not valid' });
    expect(baggageEntry(extracted)).toBeUndefined();
    expect(inject(extracted)).toEqual({});
    expect(seen).toEqual([['not valid', 'characters']]);
  });

  it('ignores two different header values as ambiguous', () => {
    const seen = recordInvalid();
    expect(inject(extract({ 'x-fork-identifier': ['alice', 'bob'] }))).toEqual({});
    expect(seen.map(([, reason]) => reason)).toEqual(['ambiguous']);
  });

  it('does not fall back to a valid baggage member behind an invalid header', () => {
    const extracted = extract(
      { 'x-fork-identifier': 'not valid', baggage: 'x-fork-identifier=bob,userId=42' },
      composite,
    );
    expect(baggageEntry(extracted)).toBeUndefined();
    expect(baggageEntry(extracted, 'userId')).toBe('42');
    const outbound = inject(extracted, {}, composite);
    expect(outbound['x-fork-identifier']).toBeUndefined();
    expect(outbound.baggage).toBe('userId=42');
  });

  it('removes an invalid baggage member the baggage propagator copied', () => {
    const extracted = extract({ baggage: 'x-fork-identifier=not%20valid,userId=42' }, composite);
    expect(baggageEntry(extracted)).toBeUndefined();
    expect(inject(extracted, {}, composite).baggage).toBe('userId=42');
  });

  it('survives a getter that throws', () => {
    const hostile: TextMapGetter<Carrier> = {
      keys: () => {
        throw new Error('boom');
      },
      get: () => {
        throw new Error('boom');
      },
    };
    expect(fork.extract(ROOT_CONTEXT, {}, hostile)).toBe(ROOT_CONTEXT);
  });

  it('stores no baggage entry when baggageKey is null, only its own key', () => {
    configure({ baggageKey: null });
    const extracted = extract({ 'x-fork-identifier': 'alice' });
    expect(propagation.getBaggage(extracted)).toBeUndefined();
    expect(inject(extracted)).toEqual({ 'x-fork-identifier': 'alice' });
  });

  it('drops the fork, baggage member included, when trust returns false', () => {
    const edge = new CompositePropagator({
      propagators: [new W3CBaggagePropagator(), new ForkPropagator({ trust: () => false })],
    });
    const extracted = extract(
      { 'x-fork-identifier': 'alice', baggage: 'x-fork-identifier=alice,userId=42' },
      edge,
    );
    expect(baggageEntry(extracted)).toBeUndefined();
    expect(baggageEntry(extracted, 'userId')).toBe('42');
  });

  it('drops the fork when trust throws', () => {
    const propagator = new ForkPropagator({
      trust: () => {
        throw new Error('policy bug');
      },
    });
    expect(baggageEntry(extract({ 'x-fork-identifier': 'alice' }, propagator))).toBeUndefined();
  });

  it('passes the carrier to trust and keeps the fork when it returns true', () => {
    const carriers: unknown[] = [];
    const propagator = new ForkPropagator({
      trust: (carrier) => {
        carriers.push(carrier);
        return (carrier as Carrier)['x-internal'] === '1';
      },
    });
    const carrier = { 'x-fork-identifier': 'alice', 'x-internal': '1' };
    expect(baggageEntry(extract(carrier, propagator))).toBe('alice');
    expect(carriers).toEqual([carrier]);
  });
});

describe('ForkPropagator.inject', () => {
  it('writes nothing outside a fork', () => {
    expect(inject(ROOT_CONTEXT)).toEqual({});
  });

  it('writes the header and our baggage member for the fork of the kubefork store', () => {
    expect(runWithForkId('alice', () => inject(ROOT_CONTEXT))).toEqual({
      'x-fork-identifier': 'alice',
      baggage: 'x-fork-identifier=alice',
    });
  });

  it('prefers the baggage entry of the context over the kubefork store', () => {
    const context = withBaggage({ 'x-fork-identifier': 'bob' });
    expect(runWithForkId('alice', () => inject(context))['x-fork-identifier']).toBe('bob');
  });

  it('prefers its own key over the baggage entry', () => {
    const context = extract({ 'x-fork-identifier': 'alice' }, fork, withBaggage({ other: '1' }));
    const conflicting = propagation.setBaggage(
      context,
      propagation.createBaggage({ 'x-fork-identifier': { value: 'bob' } }),
    );
    expect(inject(conflicting)['x-fork-identifier']).toBe('alice');
  });

  it('ignores an invalid baggage entry and falls back to the kubefork store', () => {
    const context = withBaggage({ 'x-fork-identifier': 'not valid' });
    expect(inject(context)).toEqual({});
    expect(runWithForkId('alice', () => inject(context))['x-fork-identifier']).toBe('alice');
  });

  it('keeps a header the caller put into the carrier and makes baggage agree with it', () => {
    const carrier = runWithForkId('alice', () =>
      inject(ROOT_CONTEXT, { 'X-Fork-Identifier': 'bob', baggage: 'userId=42' }),
    );
    expect(carrier).toEqual({
      'X-Fork-Identifier': 'bob',
      baggage: 'x-fork-identifier=bob,userId=42',
    });
  });

  it('keeps a header the caller set as bytes, as Kafka message headers may hold it', () => {
    const carrier: Record<string, unknown> = { 'x-fork-identifier': Buffer.from('bob') };
    runWithForkId('alice', () => fork.inject(ROOT_CONTEXT, carrier, defaultTextMapSetter));
    expect(carrier).toEqual({
      'x-fork-identifier': Buffer.from('bob'),
      baggage: 'x-fork-identifier=bob',
    });
  });

  it('reads a header sent as bytes on extract', () => {
    const carrier = { 'x-fork-identifier': [Buffer.from('alice')] };
    const context = fork.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    expect(baggageEntry(context)).toBe('alice');
  });

  it('merges its member into the baggage written before it, other members kept', () => {
    const carrier = runWithForkId('alice', () =>
      inject(ROOT_CONTEXT, { baggage: 'userId=42,x-fork-identifier=zed;p=1' }),
    );
    expect(carrier.baggage).toBe('x-fork-identifier=alice,userId=42');
  });

  it('writes the context baggage plus its member into a carrier it cannot read', () => {
    const written: Array<[string, string]> = [];
    const headers = new Map<string, string>();
    const setter: TextMapSetter<Map<string, string>> = {
      set: (carrier, key, value) => {
        written.push([key, value]);
        carrier.set(key, value);
      },
    };
    runWithForkId('alice', () => fork.inject(withBaggage({ userId: '42' }), headers, setter));
    expect(written).toEqual([
      ['x-fork-identifier', 'alice'],
      ['baggage', 'x-fork-identifier=alice,userId=42'],
    ]);
  });

  it('writes nothing while tracing is suppressed', () => {
    expect(runWithForkId('alice', () => inject(suppressTracing(ROOT_CONTEXT)))).toEqual({});
  });

  it('uses the configured header and leaves baggage alone when baggageKey is null', () => {
    configure({ header: 'X-Sandbox', baggageKey: null });
    expect(runWithForkId('alice', () => inject(ROOT_CONTEXT, { baggage: 'a=1' }))).toEqual({
      'x-sandbox': 'alice',
      baggage: 'a=1',
    });
  });
});

describe('ForkPropagator.fields', () => {
  it('lists the header and baggage', () => {
    expect(fork.fields()).toEqual(['x-fork-identifier', 'baggage']);
  });

  it('follows the configured header and leaves out baggage when baggageKey is null', () => {
    configure({ header: 'X-Sandbox', baggageKey: null });
    expect(fork.fields()).toEqual(['x-sandbox']);
  });
});

describe('ForkPropagator last in a CompositePropagator', () => {
  function hop(inbound: Carrier): Carrier {
    return inject(extract(inbound, composite), {}, composite);
  }

  it('turns a header-only request into an outbound header and baggage member', () => {
    const outbound = hop({ 'x-fork-identifier': 'alice' });
    expect(outbound['x-fork-identifier']).toBe('alice');
    expect(members(outbound.baggage)).toEqual(['x-fork-identifier=alice']);
  });

  it('turns a baggage-only request into an outbound header, the member sent once', () => {
    const outbound = hop({ baggage: 'userId=42,x-fork-identifier=alice' });
    expect(outbound['x-fork-identifier']).toBe('alice');
    expect(members(outbound.baggage)).toEqual(['x-fork-identifier=alice']);
    expect(members(outbound.baggage, 'userId')).toEqual(['userId=42']);
  });

  it('lets the header win over a different baggage member, and baggage agrees', () => {
    const outbound = hop({
      'x-fork-identifier': 'alice',
      baggage: 'x-fork-identifier=bob,userId=42',
    });
    expect(outbound['x-fork-identifier']).toBe('alice');
    expect(members(outbound.baggage)).toEqual(['x-fork-identifier=alice']);
    expect(members(outbound.baggage, 'userId')).toEqual(['userId=42']);
  });

  it('carries trace context alongside', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const outbound = hop({ traceparent, 'x-fork-identifier': 'alice' });
    expect(outbound.traceparent).toBe(traceparent);
  });

  it('sends nothing of ours for a request without a fork', () => {
    const outbound = hop({ baggage: 'userId=42' });
    expect(outbound).toEqual({ baggage: 'userId=42' });
  });

  it('lists every field of the three propagators', () => {
    expect(composite.fields()).toEqual(
      expect.arrayContaining(['traceparent', 'baggage', 'x-fork-identifier']),
    );
  });
});

describe('new ForkPropagator(options)', () => {
  it('throws a TypeError naming an unknown option', () => {
    expect(() => new ForkPropagator({ trsut: () => true } as never)).toThrow(
      /option "trsut" must be one of: trust/,
    );
  });

  it('throws a TypeError when trust is not a function', () => {
    expect(() => new ForkPropagator({ trust: true as never })).toThrow(TypeError);
    expect(() => new ForkPropagator({ trust: true as never })).toThrow(/option "trust"/);
  });
});

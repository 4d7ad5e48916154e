import { describe, expect, it } from 'vitest';
import { type BaggageLookup, lookupBaggage, mergeBaggage } from '../src/baggage.js';

// Cases ported from the W3C Baggage reference tests (w3c/baggage test/baggage/test_baggage.py)
// and OpenTelemetry JS's W3CBaggagePropagator tests (packages/opentelemetry-core/test/baggage/),
// read through our codec: the values found for one key.

const found = (...values: string[]): BaggageLookup => ({ kind: 'found', values });
const absent: BaggageLookup = { kind: 'absent' };
const W3C_ENCODED = '%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29';
const W3C_DECODED = '\t "\';=asdf!@#$%^&*()';

const cases: Array<[string, string, string, BaggageLookup]> = [
  ['w3c: simple', 'SomeKey=SomeValue', 'SomeKey', found('SomeValue')],
  ['w3c: multiple', 'SomeKey=SomeValue,SomeKey2=SomeValue2', 'SomeKey2', found('SomeValue2')],
  [
    'w3c: multiple with OWS',
    'SomeKey \t = \t SomeValue \t , \t SomeKey2 \t = \t SomeValue2 \t ',
    'SomeKey2',
    found('SomeValue2'),
  ],
  [
    'w3c: properties',
    'SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;SomeProp2',
    'SomeKey',
    found('SomeValue'),
  ],
  [
    'w3c: properties with OWS',
    'SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomeProp2',
    'SomeKey2',
    found('SomeValue2'),
  ],
  [
    'w3c: key-value properties with OWS',
    'SomeKey \t = \t SomeValue \t ; \t SomePropKey=SomePropValue \t , \t SomeKey2 \t = \t SomeValue2',
    'SomeKey',
    found('SomeValue'),
  ],
  ['w3c: a value holding "="', 'SomeKey=SomeValue=equals', 'SomeKey', found('SomeValue=equals')],
  ['w3c: percent-encoded', `SomeKey=${W3C_ENCODED}`, 'SomeKey', found(W3C_DECODED)],
  [
    'w3c: percent-encoded with OWS: decoded whitespace stays',
    `SomeKey \t = \t ${W3C_ENCODED} \t `,
    'SomeKey',
    found(W3C_DECODED),
  ],
  [
    'otel: OWS around keys and values',
    'key1=d4cda95b,key3=c88815a7, keyn   = valn, keym =valm',
    'keyn',
    found('valn'),
  ],
  [
    'otel: a value with properties',
    'key1=d4cda95b,key3=c88815a7;prop1=value1',
    'key3',
    found('c88815a7'),
  ],
  ['otel: no key-value pair', '289371298nekjh2939299283jbk2b', 'key1', absent],
  // OpenTelemetry JS drops `key1==value` as invalid; W3C's value grammar allows "=" (%x3C-5B).
  ['otel: a double "=" keeps the next member', 'key1==value,key2=value2', 'key2', found('value2')],
  ['otel: a double "=" is part of the value', 'key1==value,key2=value2', 'key1', found('=value')],
  ['otel: "key:value" is no member of "key"', 'key1:value;key2=value2', 'key1', absent],
  // Where we differ on purpose (README "Choices"):
  ['duplicates: every value is kept (OTel keeps the last)', 'k=a,k=b', 'k', found('a', 'b')],
  [
    'invalid UTF-8 is malformed (W3C: U+FFFD)',
    'k=%C3%28',
    'k',
    { kind: 'malformed', raw: 'k=%C3%28' },
  ],
  ['keys are never decoded', 'k%31=v', 'k1', absent],
];

describe('W3C and OpenTelemetry baggage cases', () => {
  it.each(cases)('%s', (_, header, key, expected) => {
    expect(lookupBaggage(header, key)).toEqual(expected);
  });

  it('w3c limits: serializing 200 entries keeps 180', () => {
    const upstream = Array.from({ length: 200 }, (_, i) => `key${i}=value`).join(',');
    expect(mergeBaggage(upstream, 'k', 'v').split(',')).toHaveLength(180);
  });

  it('otel limits: a merged header is at most 8,192 bytes, whole entries dropped', () => {
    const long = (n: number) => `key${n}=${'v'.repeat(4090)}`;
    const merged = mergeBaggage(`${long(0)},${long(1)},aa=${'v'.repeat(100)}`, 'k', 'v');
    expect(merged.length).toBeLessThanOrEqual(8192);
    expect(merged.split(',')).toEqual(['k=v', long(0)]);
  });
});

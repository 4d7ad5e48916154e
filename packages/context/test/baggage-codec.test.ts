// parseBaggage / serializeBaggage against the cases of the W3C Baggage test suite
// (w3c/baggage test/baggage/test_baggage.py) and of OpenTelemetry JS's W3CBaggagePropagator
// tests (packages/opentelemetry-core/test/baggage/W3CBaggagePropagator.test.ts).
import { describe, expect, it } from 'vitest';
import {
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  parseBaggage,
  serializeBaggage,
} from '../src/integration.js';

describe('parseBaggage: W3C test suite cases', () => {
  it('parses a single member', () => {
    expect(parseBaggage('SomeKey=SomeValue')).toEqual([{ key: 'SomeKey', value: 'SomeValue' }]);
  });

  it('parses several members', () => {
    expect(parseBaggage('SomeKey=SomeValue,SomeKey2=SomeValue2')).toEqual([
      { key: 'SomeKey', value: 'SomeValue' },
      { key: 'SomeKey2', value: 'SomeValue2' },
    ]);
  });

  it('trims optional whitespace (spaces and tabs) around keys, values and members', () => {
    expect(
      parseBaggage('SomeKey \t = \t SomeValue \t , \t SomeKey2 \t = \t SomeValue2 \t '),
    ).toEqual([
      { key: 'SomeKey', value: 'SomeValue' },
      { key: 'SomeKey2', value: 'SomeValue2' },
    ]);
  });

  it('keeps properties, with and without values, without optional whitespace', () => {
    expect(parseBaggage('SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;SomeProp2')).toEqual([
      { key: 'SomeKey', value: 'SomeValue', properties: 'SomeProp' },
      { key: 'SomeKey2', value: 'SomeValue2', properties: 'SomeProp2' },
    ]);
    expect(
      parseBaggage(
        'SomeKey \t = \t SomeValue \t ; \t SomePropKey=SomePropValue \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomePropKey2 \t = \t SomePropValue2',
      ),
    ).toEqual([
      { key: 'SomeKey', value: 'SomeValue', properties: 'SomePropKey=SomePropValue' },
      { key: 'SomeKey2', value: 'SomeValue2', properties: 'SomePropKey2=SomePropValue2' },
    ]);
  });

  it('splits a member at its first "=": the value may hold more', () => {
    expect(parseBaggage('SomeKey=SomeValue=equals')).toEqual([
      { key: 'SomeKey', value: 'SomeValue=equals' },
    ]);
  });

  it('percent-decodes values, after trimming (an encoded space or tab is part of the value)', () => {
    const value = '\t "\';=asdf!@#$%^&*()';
    const encoded = '%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29';
    expect(parseBaggage(`SomeKey=${encoded}`)).toEqual([{ key: 'SomeKey', value }]);
    expect(parseBaggage(`SomeKey \t = \t ${encoded} \t `)).toEqual([{ key: 'SomeKey', value }]);
    expect(parseBaggage(serializeBaggage([{ key: 'SomeKey', value }]))).toEqual([
      { key: 'SomeKey', value },
    ]);
  });
});

describe('parseBaggage: OpenTelemetry W3CBaggagePropagator extract cases', () => {
  it('extracts members with whitespace around them', () => {
    expect(parseBaggage('key1=d4cda95b,key3=c88815a7, keyn   = valn, keym =valm')).toEqual([
      { key: 'key1', value: 'd4cda95b' },
      { key: 'key3', value: 'c88815a7' },
      { key: 'keyn', value: 'valn' },
      { key: 'keym', value: 'valm' },
    ]);
  });

  it('returns keys with their properties', () => {
    expect(parseBaggage('key1=d4cda95b,key3=c88815a7;prop1=value1')).toEqual([
      { key: 'key1', value: 'd4cda95b' },
      { key: 'key3', value: 'c88815a7', properties: 'prop1=value1' },
    ]);
  });

  it('ignores invalid members and keeps the valid ones', () => {
    expect(parseBaggage('289371298nekjh2939299283jbk2b')).toEqual([]);
    expect(parseBaggage('key1:value;key2=value2')).toEqual([]);
    expect(parseBaggage('key1:value;;key2=value2')).toEqual([]);
    expect(parseBaggage('bad key=1,key2=value2')).toEqual([{ key: 'key2', value: 'value2' }]);
    // OpenTelemetry's test drops `key1==value`; by the W3C grammar (and its test suite's
    // "SomeValue=equals") a value may start with "=", so the member is kept.
    expect(parseBaggage('key1==value,key2=value2')).toEqual([
      { key: 'key1', value: '=value' },
      { key: 'key2', value: 'value2' },
    ]);
  });
});

describe('parseBaggage: invalid members and limits', () => {
  it('ignores empty members, empty keys, bad escapes and characters a value may not hold', () => {
    expect(parseBaggage(',, =x,a=%E0%A4%A,b=has space,c="q",d=back\\slash,e=%41,f=,=,g')).toEqual([
      { key: 'e', value: 'A' },
      { key: 'f', value: '' },
    ]);
  });

  it('keeps keys as they are: tokens are not decoded', () => {
    expect(parseBaggage('with%2Fslash=v')).toEqual([{ key: 'with%2Fslash', value: 'v' }]);
  });

  it(`keeps at most ${BAGGAGE_MAX_MEMBERS} members`, () => {
    const header = Array.from({ length: 200 }, (_, i) => `k${i}=v`).join(',');
    const members = parseBaggage(header);
    expect(members).toHaveLength(BAGGAGE_MAX_MEMBERS);
    expect(members.at(-1)).toEqual({ key: 'k179', value: 'v' });
  });

  it(`ignores members over 4,096 bytes and stops before ${BAGGAGE_MAX_BYTES} bytes`, () => {
    const huge = `big=${'v'.repeat(4093)}`;
    expect(parseBaggage(`a=1,${huge},b=2`)).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    const large = (key: string) => `${key}=${'v'.repeat(4000)}`;
    const members = parseBaggage(`${large('x')},${large('y')},${'z'.repeat(200)}=1,small=1`);
    expect(members.map((member) => member.key)).toEqual(['x', 'y']);
  });
});

describe('serializeBaggage: OpenTelemetry W3CBaggagePropagator inject cases', () => {
  it('percent-encodes keys and values and appends properties', () => {
    expect(
      serializeBaggage([
        { key: 'key1', value: 'd4cda95b652f4a1592b449d5929fda1b' },
        { key: 'with/slash', value: 'with spaces' },
        { key: 'key3', value: 'c88815a7-0fa9-4d95-a1f1-cdccce3c5c2a' },
        {
          key: 'key4',
          value: 'foo',
          properties: 'key4prop1=value1;key4prop2=value2;key4prop3WithNoValue',
        },
      ]),
    ).toBe(
      'key1=d4cda95b652f4a1592b449d5929fda1b,with%2Fslash=with%20spaces,key3=c88815a7-0fa9-4d95-a1f1-cdccce3c5c2a,key4=foo;key4prop1=value1;key4prop2=value2;key4prop3WithNoValue',
    );
  });

  it('skips members longer than 4,096 bytes', () => {
    const value = 'v'.repeat(4000);
    const shortKey = 'k'.repeat(95);
    const longKey = 'k'.repeat(96);
    expect(
      serializeBaggage([
        { key: 'aa', value: 'shortvalue' },
        { key: shortKey, value },
      ]),
    ).toBe(`aa=shortvalue,${shortKey}=${value}`);
    expect(
      serializeBaggage([
        { key: 'aa', value: 'shortvalue' },
        { key: longKey, value },
      ]),
    ).toBe('aa=shortvalue');
  });

  it('does not exceed 8,192 bytes', () => {
    const longValue = 'v'.repeat(4000);
    const members = (aa: number) => [
      { key: '0'.repeat(48), value: longValue },
      { key: '1'.repeat(49), value: longValue },
      { key: 'aa', value: 'v'.repeat(aa) },
    ];
    const full = serializeBaggage(members(88));
    expect(full.length).toBe(8192);
    expect(full.split(',')).toHaveLength(3);
    const over = serializeBaggage(members(89));
    expect(over.length).toBe(8100);
    expect(over.split(',')).toHaveLength(2);
  });

  it(`writes at most ${BAGGAGE_MAX_MEMBERS} members`, () => {
    const members = Array.from({ length: 200 }, (_, i) => ({ key: `${i}`, value: 'v' }));
    expect(serializeBaggage(members).split(',')).toHaveLength(BAGGAGE_MAX_MEMBERS);
  });

  it('returns an empty string for no members', () => {
    expect(serializeBaggage([])).toBe('');
  });
});

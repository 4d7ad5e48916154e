import { afterEach, describe, expect, it } from 'vitest';
import { configure, extractForkId, type ForkOptions, type InvalidReason } from '../src/index.js';

afterEach(() => configure());

/** Configures with a recording onInvalid and returns what it records. */
function recording(options: ForkOptions = {}): Array<[string, InvalidReason]> {
  const seen: Array<[string, InvalidReason]> = [];
  configure({ ...options, onInvalid: (value, reason) => seen.push([value, reason]) });
  return seen;
}

describe('extractForkId: precedence', () => {
  it('reads the header', () => {
    expect(extractForkId({ 'x-fork-identifier': 'alice' })).toBe('alice');
  });

  it('returns undefined without any fork header', () => {
    const seen = recording();
    expect(extractForkId({ host: 'a', accept: '*/*' })).toBeUndefined();
    expect(seen).toEqual([]);
  });

  it('reads an alias when the header is absent', () => {
    configure({ aliases: ['x-fork-identifer'] });
    expect(extractForkId({ 'x-fork-identifer': 'bob' })).toBe('bob');
  });

  it('ignores alias headers that are not configured', () => {
    expect(extractForkId({ 'x-fork-identifer': 'bob' })).toBeUndefined();
  });

  it('accepts header and alias carrying the same value', () => {
    configure({ aliases: ['x-fork-identifer'] });
    expect(extractForkId({ 'x-fork-identifier': 'bob', 'x-fork-identifer': 'bob' })).toBe('bob');
  });

  it('refuses header and alias that disagree as ambiguous', () => {
    const seen = recording({ aliases: ['x-fork-identifer'] });
    expect(
      extractForkId({ 'x-fork-identifier': 'alice', 'x-fork-identifer': 'bob' }),
    ).toBeUndefined();
    expect(seen).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('prefers the header over the baggage member', () => {
    expect(extractForkId({ 'x-fork-identifier': 'alice', baggage: 'x-fork-identifier=bob' })).toBe(
      'alice',
    );
  });

  it('reads the baggage member when no header is present', () => {
    expect(extractForkId({ baggage: 'userId=1,x-fork-identifier=carol' })).toBe('carol');
  });

  it('does not fall back to baggage when the header is present but invalid', () => {
    const seen = recording();
    expect(
      extractForkId({ 'x-fork-identifier': 'bad value', baggage: 'x-fork-identifier=bob' }),
    ).toBeUndefined();
    expect(seen).toEqual([['bad value', 'characters']]);
  });

  it('uses a custom header name and baggage key', () => {
    configure({ header: 'x-sandbox', baggageKey: 'sandbox' });
    expect(extractForkId({ 'x-sandbox': 'dev1' })).toBe('dev1');
    expect(extractForkId({ baggage: 'sandbox=dev2' })).toBe('dev2');
    expect(extractForkId({ 'x-fork-identifier': 'alice' })).toBeUndefined();
  });

  it('ignores baggage entirely when baggageKey is null', () => {
    configure({ baggageKey: null });
    expect(extractForkId({ baggage: 'x-fork-identifier=carol' })).toBeUndefined();
  });
});

describe('extractForkId: carriers', () => {
  it('matches plain-object keys in any case', () => {
    expect(extractForkId({ 'X-Fork-Identifier': 'alice' })).toBe('alice');
    expect(extractForkId({ 'X-FORK-IDENTIFIER': 'alice' })).toBe('alice');
    expect(extractForkId({ BAGGAGE: 'x-fork-identifier=bob' })).toBe('bob');
  });

  it('treats differently cased keys of one object as one header', () => {
    const seen = recording();
    expect(extractForkId({ 'X-Fork-Identifier': 'alice', 'x-fork-identifier': 'alice' })).toBe(
      'alice',
    );
    expect(
      extractForkId({ 'X-Fork-Identifier': 'alice', 'x-fork-identifier': 'bob' }),
    ).toBeUndefined();
    expect(seen).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('reads WHATWG Headers case-insensitively', () => {
    expect(extractForkId(new Headers({ 'X-Fork-Identifier': 'alice' }))).toBe('alice');
    expect(extractForkId(new Headers({ Baggage: 'x-fork-identifier=bob' }))).toBe('bob');
  });

  it('refuses two different values appended to WHATWG Headers', () => {
    const headers = new Headers();
    headers.append('x-fork-identifier', 'alice');
    headers.append('x-fork-identifier', 'bob');
    const seen = recording();
    expect(extractForkId(headers)).toBeUndefined();
    expect(seen).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('reads a Map with keys in any case and array values', () => {
    expect(extractForkId(new Map([['X-Fork-Identifier', 'alice']]))).toBe('alice');
    expect(extractForkId(new Map([['x-fork-identifier', ['alice', 'alice']]]))).toBe('alice');
    expect(extractForkId(new Map([['x-fork-identifier', ['alice', 'bob']]]))).toBeUndefined();
  });

  it('reads Node IncomingHttpHeaders arrays and comma-joined duplicates', () => {
    expect(extractForkId({ 'x-fork-identifier': ['alice', 'alice'] })).toBe('alice');
    expect(extractForkId({ 'x-fork-identifier': 'alice, alice' })).toBe('alice');
    expect(extractForkId({ 'x-fork-identifier': ['alice', 'bob'] })).toBeUndefined();
    expect(extractForkId({ 'x-fork-identifier': 'alice, bob' })).toBeUndefined();
  });

  it('ignores empty list elements next to a value (RFC 9110 §5.6.1)', () => {
    expect(extractForkId({ 'x-fork-identifier': 'alice, ,' })).toBe('alice');
  });

  it('ignores values that are not strings', () => {
    const seen = recording();
    expect(extractForkId({ 'x-fork-identifier': Buffer.from('alice') as never })).toBeUndefined();
    expect(seen).toEqual([['', 'empty']]);
  });

  it('never throws, even on a carrier whose getter throws', () => {
    const hostile = {
      get 'x-fork-identifier'(): string {
        throw new Error('boom');
      },
    };
    expect(extractForkId(hostile)).toBeUndefined();
    expect(extractForkId(null as never)).toBeUndefined();
    expect(extractForkId('x-fork-identifier: a' as never)).toBeUndefined();
  });

  it('trims optional whitespace around values from plain objects', () => {
    expect(extractForkId({ 'x-fork-identifier': ' \talice\t ' })).toBe('alice');
  });
});

describe('extractForkId: invalid values', () => {
  it.each<[string, string, InvalidReason]>([
    ['empty', '', 'empty'],
    ['only whitespace', '   ', 'empty'],
    ['only commas', ',,', 'empty'],
    ['too long', 'a'.repeat(64), 'too-long'],
    ['10 KB', 'a'.repeat(10_240), 'too-long'],
    ['inner space', 'ali ce', 'characters'],
    ['CRLF', 'alice\r\nx-evil: 1', 'characters'],
    ['NUL', 'alice\0', 'characters'],
    ['DEL', 'alice\x7f', 'characters'],
    ['non-ASCII', 'alicé', 'characters'],
    ['emoji', 'al🦊', 'characters'],
    ['leading dash', '-alice', 'pattern'],
    ['slash', 'alice/bob', 'pattern'],
    ['semicolon', 'alice;bob', 'pattern'],
    ['equals', 'alice=bob', 'pattern'],
    ['star', '*', 'pattern'],
  ])('ignores %s with reason %s', (_name, value, reason) => {
    const seen = recording();
    expect(extractForkId({ 'x-fork-identifier': value })).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[1]).toBe(reason);
  });

  it('accepts exactly maxLength characters', () => {
    expect(extractForkId({ 'x-fork-identifier': 'a'.repeat(63) })).toBe('a'.repeat(63));
  });

  it('honours a custom pattern and maxLength', () => {
    const seen = recording({ pattern: /^[a-z]+$/, maxLength: 5 });
    expect(extractForkId({ 'x-fork-identifier': 'alice' })).toBe('alice');
    expect(extractForkId({ 'x-fork-identifier': 'Alice' })).toBeUndefined();
    expect(extractForkId({ 'x-fork-identifier': 'alices' })).toBeUndefined();
    expect(seen.map(([, reason]) => reason)).toEqual(['pattern', 'too-long']);
  });

  it('never accepts unsafe characters even when a custom pattern would', () => {
    const seen = recording({ pattern: /^.*$/s });
    expect(extractForkId({ 'x-fork-identifier': 'a\r\nb' })).toBeUndefined();
    expect(extractForkId({ 'x-fork-identifier': 'a b' })).toBeUndefined();
    expect(seen.map(([, reason]) => reason)).toEqual(['characters', 'characters']);
  });

  it('hands onInvalid at most 256 characters of a hostile value', () => {
    const seen = recording();
    extractForkId({ 'x-fork-identifier': 'b'.repeat(10_000) });
    expect(seen[0]?.[0]).toHaveLength(256);
  });

  it('survives an onInvalid that throws', () => {
    configure({
      onInvalid: () => {
        throw new Error('logger down');
      },
    });
    expect(extractForkId({ 'x-fork-identifier': 'bad value' })).toBeUndefined();
  });
});

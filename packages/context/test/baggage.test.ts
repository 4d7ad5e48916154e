import { afterEach, describe, expect, it } from 'vitest';
import { configure, extractForkId, type InvalidReason, mergeBaggage } from '../src/index.js';

afterEach(() => configure());

function recording(): Array<[string, InvalidReason]> {
  const seen: Array<[string, InvalidReason]> = [];
  configure({ onInvalid: (value, reason) => seen.push([value, reason]) });
  return seen;
}

const fromBaggage = (baggage: string | string[]) => extractForkId({ baggage });

describe('reading the baggage member', () => {
  it('tolerates spaces around members, keys and values', () => {
    expect(fromBaggage('  a=1 ,  x-fork-identifier  =  alice  , b=2')).toBe('alice');
  });

  it('ignores properties after the semicolon', () => {
    expect(fromBaggage('x-fork-identifier=alice;ttl=30;flag')).toBe('alice');
  });

  it('percent-decodes the value', () => {
    expect(fromBaggage('x-fork-identifier=alice%2Ddev')).toBe('alice-dev');
  });

  it('validates the decoded value', () => {
    const seen = recording();
    expect(fromBaggage('x-fork-identifier=alice%20dev')).toBeUndefined();
    expect(seen).toEqual([['alice dev', 'characters']]);
  });

  it('reports an undecodable member as malformed', () => {
    const seen = recording();
    expect(fromBaggage('x-fork-identifier=%E0%A4%A')).toBeUndefined();
    expect(seen).toEqual([['x-fork-identifier=%E0%A4%A', 'malformed']]);
  });

  it('reports a member without a value as empty', () => {
    const seen = recording();
    expect(fromBaggage('x-fork-identifier=')).toBeUndefined();
    expect(fromBaggage('x-fork-identifier')).toBeUndefined();
    expect(fromBaggage('x-fork-identifier;p=alice')).toBeUndefined();
    expect(seen.map(([, reason]) => reason)).toEqual(['empty', 'empty', 'empty']);
  });

  it('skips malformed members of other keys without losing ours', () => {
    expect(fromBaggage('=novalue,%%%=x,broken,k=%ZZ,x-fork-identifier=alice,,=')).toBe('alice');
  });

  it('refuses our key twice as ambiguous, also with the same value (as the mesh does)', () => {
    const seen = recording();
    expect(fromBaggage('x-fork-identifier=alice,x-fork-identifier=alice')).toBeUndefined();
    expect(fromBaggage(['x-fork-identifier=alice', 'x-fork-identifier=al%69ce'])).toBeUndefined();
    expect(seen).toEqual([
      ['alice, alice', 'ambiguous'],
      ['alice, alice', 'ambiguous'],
    ]);
  });

  it('refuses duplicate members with different values as ambiguous', () => {
    const seen = recording();
    expect(fromBaggage('x-fork-identifier=alice,x-fork-identifier=bob')).toBeUndefined();
    expect(seen).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('reads several baggage headers as one list', () => {
    expect(fromBaggage(['a=1', 'x-fork-identifier=alice'])).toBe('alice');
    expect(fromBaggage(['x-fork-identifier=alice', 'x-fork-identifier=bob'])).toBeUndefined();
  });

  it('finds our member among 180 members', () => {
    const members = Array.from({ length: 179 }, (_, i) => `k${i}=v`);
    expect(fromBaggage([...members, 'x-fork-identifier=alice'].join(','))).toBe('alice');
  });

  it('stops after 180 members: 200 members with ours last is too large', () => {
    const seen = recording();
    const members = Array.from({ length: 199 }, (_, i) => `k${i}=v`);
    expect(fromBaggage([...members, 'x-fork-identifier=alice'].join(','))).toBeUndefined();
    expect(seen[0]?.[1]).toBe('too-large');
  });

  it('stops after 180 members wherever ours is: the mesh cannot tell where ours came', () => {
    const seen = recording();
    const members = Array.from({ length: 180 }, (_, i) => `k${i}=v`);
    expect(fromBaggage(['x-fork-identifier=alice', ...members].join(','))).toBeUndefined();
    expect(seen[0]?.[1]).toBe('too-large');
  });

  it('does not count empty list members', () => {
    const members = Array.from({ length: 179 }, (_, i) => `k${i}=v`);
    expect(fromBaggage(['x-fork-identifier=alice', ...members, '', ' '].join(','))).toBe('alice');
  });

  it('does not count the space node:http puts after the commas it joins with', () => {
    const ours = 'x-fork-identifier=alice';
    const pad = `p=${'x'.repeat(8192 - ours.length - 1 - 2)}`;
    expect(fromBaggage(`${ours}, ${pad}`)).toBe('alice');
    expect(fromBaggage(`${ours},${pad}x`)).toBeUndefined();
  });

  it('counts no whitespace or control characters anywhere, and every other byte', () => {
    // Exactly 8,192 counted bytes, with whitespace before commas, around "=" and at the start:
    // the mesh counts the same bytes (controller baggageLimitRegex), so both read the fork.
    const ours = ' x-fork-identifier \t= alice ';
    const visible = ours.replace(/[ \t]/g, '').length;
    const pad = `p=${'x'.repeat(8192 - visible - 1 - 2)}`;
    expect(fromBaggage(`${ours} ,\t ${pad}\t`)).toBe('alice');
    expect(fromBaggage(`${ours},${pad}x`)).toBeUndefined();
    const seen = recording();
    // Over the limit by one counted byte, however little whitespace there is.
    expect(fromBaggage(`${ours.trim()},${pad}x`)).toBeUndefined();
    expect(seen[0]?.[1]).toBe('too-large');
  });

  it('ignores a 10 KB baggage header entirely', () => {
    const seen = recording();
    const big = `x-fork-identifier=alice,pad=${'p'.repeat(10_240)}`;
    expect(fromBaggage(big)).toBeUndefined();
    expect(seen[0]?.[1]).toBe('too-large');
    expect(seen[0]?.[0]).toHaveLength(256);
  });

  it('measures the limit in bytes, not characters', () => {
    const seen = recording();
    // 3,000 three-byte characters: under 8,192 characters, over 8,192 bytes.
    expect(fromBaggage(`x-fork-identifier=alice,pad=${'€'.repeat(3000)}`)).toBeUndefined();
    expect(seen[0]?.[1]).toBe('too-large');
  });

  it('returns undefined for baggage without our member, reporting nothing', () => {
    const seen = recording();
    expect(fromBaggage('userId=42,tenant=acme')).toBeUndefined();
    expect(fromBaggage('')).toBeUndefined();
    expect(seen).toEqual([]);
  });
});

describe('mergeBaggage', () => {
  it('returns our member alone when there is no baggage', () => {
    expect(mergeBaggage(undefined, 'x-fork-identifier', 'alice')).toBe('x-fork-identifier=alice');
    expect(mergeBaggage('', 'x-fork-identifier', 'alice')).toBe('x-fork-identifier=alice');
  });

  it('puts ours first and keeps every other member with its properties', () => {
    expect(mergeBaggage('userId=42;p=1, tenant=acme', 'x-fork-identifier', 'alice')).toBe(
      'x-fork-identifier=alice,userId=42;p=1,tenant=acme',
    );
  });

  it('replaces an existing member instead of duplicating it', () => {
    expect(
      mergeBaggage(
        'a=1,x-fork-identifier=bob,b=2,x-fork-identifier=carol;p',
        'x-fork-identifier',
        'alice',
      ),
    ).toBe('x-fork-identifier=alice,a=1,b=2');
  });

  it('is idempotent', () => {
    const once = mergeBaggage('a=1', 'x-fork-identifier', 'alice');
    expect(mergeBaggage(once, 'x-fork-identifier', 'alice')).toBe(once);
  });

  it('percent-encodes the value', () => {
    expect(mergeBaggage(undefined, 'k', 'a b,c')).toBe('k=a%20b%2Cc');
  });

  it('round-trips through extractForkId', () => {
    const merged = mergeBaggage('a=1,x-fork-identifier=bob', 'x-fork-identifier', 'alice.dev_1');
    expect(extractForkId({ baggage: merged })).toBe('alice.dev_1');
  });
});

describe('W3C baggage conformance (issue 14)', () => {
  it('trims optional whitespace around the raw value, before decoding: %20alice%20 is invalid', () => {
    const seen = recording();
    expect(fromBaggage('x-fork-identifier=%20alice%20')).toBeUndefined();
    expect(fromBaggage('x-fork-identifier=%09alice')).toBeUndefined();
    expect(seen).toEqual([
      [' alice ', 'characters'],
      ['\talice', 'characters'],
    ]);
  });

  it('never percent-decodes keys: x%2Dfork-identifier is another key', () => {
    const seen = recording();
    expect(fromBaggage('x%2Dfork-identifier=alice')).toBeUndefined();
    expect(fromBaggage('x%2Dfork-identifier=bob,x-fork-identifier=alice')).toBe('alice');
    expect(seen).toEqual([]);
  });

  it('keeps a member whose key only decodes to ours when merging', () => {
    expect(mergeBaggage('x%2Dfork-identifier=bob', 'x-fork-identifier', 'alice')).toBe(
      'x-fork-identifier=alice,x%2Dfork-identifier=bob',
    );
  });
});

describe('mergeBaggage keeps the W3C limits (issue 14)', () => {
  const bytes = (text: string) => Buffer.byteLength(text);
  const count = (text: string) => text.split(',').length;

  it('drops whole foreign members from the end to stay within 8,192 bytes', () => {
    const upstream = `a=1,b=2,pad=${'p'.repeat(8190 - 12)}`;
    expect(bytes(upstream)).toBe(8190);
    const merged = mergeBaggage(upstream, 'x-fork-identifier', 'alice');
    expect(merged).toBe('x-fork-identifier=alice,a=1,b=2');
    expect(extractForkId({ baggage: merged })).toBe('alice');
  });

  it('keeps every member that fits, up to exactly 8,192 bytes', () => {
    const ours = 'x-fork-identifier=alice';
    const fill = `f=${'q'.repeat(8192 - ours.length - 1 - 2)}`;
    const merged = mergeBaggage(`${fill},z=1`, 'x-fork-identifier', 'alice');
    expect(merged).toBe(`${ours},${fill}`);
    expect(bytes(merged)).toBe(8192);
  });

  it('keeps at most 180 members, ours first', () => {
    const upstream = Array.from({ length: 180 }, (_, i) => `k${i}=v`).join(',');
    const merged = mergeBaggage(upstream, 'x-fork-identifier', 'alice');
    expect(count(merged)).toBe(180);
    expect(merged.startsWith('x-fork-identifier=alice,k0=v,')).toBe(true);
    expect(merged.endsWith(',k178=v')).toBe(true);
    expect(extractForkId({ baggage: merged })).toBe('alice');
  });

  it('does not count the member it replaces', () => {
    const upstream = [
      'x-fork-identifier=bob',
      ...Array.from({ length: 179 }, (_, i) => `k${i}=v`),
    ].join(',');
    const merged = mergeBaggage(upstream, 'x-fork-identifier', 'alice');
    expect(count(merged)).toBe(180);
    expect(merged.endsWith(',k178=v')).toBe(true);
  });

  it('counts bytes, not characters', () => {
    const upstream = `a=1,e=${'%E2%82%AC'.repeat(10)},pad=${'€'.repeat(2700)}`;
    const merged = mergeBaggage(upstream, 'x-fork-identifier', 'alice');
    expect(merged).toBe(`x-fork-identifier=alice,a=1,e=${'%E2%82%AC'.repeat(10)}`);
  });
});

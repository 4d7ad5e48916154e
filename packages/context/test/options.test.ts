import { describe, expect, it } from 'vitest';
import { checkOptions, checkTrust, ERR_INVALID_OPTION, isTrusted } from '../src/integration.js';

describe('checkOptions', () => {
  it('gives an empty object for undefined and the object itself otherwise', () => {
    expect(checkOptions(undefined, ['trust'])).toEqual({});
    const options = { trust: () => true };
    expect(checkOptions(options, ['trust'])).toBe(options);
  });

  it.each([[null], ['trust'], [[]], [42]])('rejects %j as options with a TypeError', (value) => {
    expect(() => checkOptions(value, ['trust'])).toThrow(
      expect.objectContaining({ name: 'TypeError', code: ERR_INVALID_OPTION }),
    );
  });

  it('names an unknown option, its value and the known ones', () => {
    expect(() => checkOptions({ trusted: true }, ['trust'])).toThrow(
      'kubefork: option "trusted" must be one of: trust (unknown option); received true',
    );
  });

  it('accepts pass-through keys a framework adds itself', () => {
    expect(() => checkOptions({ prefix: '/x' }, ['trust'], ['prefix'])).not.toThrow();
  });
});

describe('checkTrust', () => {
  it('accepts undefined and functions, and names anything else', () => {
    const trust = () => true;
    expect(checkTrust(undefined, '(req) => boolean')).toBeUndefined();
    expect(checkTrust(trust, '(req) => boolean')).toBe(trust);
    expect(() => checkTrust('yes', '(req) => boolean')).toThrow(
      'kubefork: option "trust" must be a function (req) => boolean; received "yes"',
    );
  });
});

describe('isTrusted', () => {
  it('trusts without a policy and passes the arguments through', () => {
    const seen: unknown[] = [];
    expect(isTrusted(undefined, 'req')).toBe(true);
    const record = (...args: unknown[]) => {
      seen.push(...args);
      return true;
    };
    expect(isTrusted(record, 'a', 'b')).toBe(true);
    expect(seen).toEqual(['a', 'b']);
  });

  it.each([
    ['false', () => false],
    ['a truthy non-boolean', () => 1],
    ['a Promise', async () => true],
    [
      'a throw',
      () => {
        throw new Error('policy bug');
      },
    ],
  ])('fails closed on %s', (_name, trust) => {
    expect(isTrusted(trust as () => boolean)).toBe(false);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import {
  configure,
  DEFAULT_FORK_ID_PATTERN,
  extractForkId,
  type ForkOptions,
} from '../src/index.js';
import { ERR_INVALID_OPTION, forkConfig } from '../src/integration.js';

afterEach(() => configure());

function thrown(options: unknown): TypeError & { code?: string } {
  try {
    configure(options as ForkOptions);
  } catch (error) {
    return error as TypeError & { code?: string };
  }
  throw new Error('configure did not throw');
}

describe('configure', () => {
  it('applies defaults when called without options', () => {
    configure();
    expect(forkConfig()).toMatchObject({
      header: 'x-fork-identifier',
      aliases: [],
      baggageKey: 'x-fork-identifier',
      pattern: DEFAULT_FORK_ID_PATTERN,
      maxLength: 63,
      propagateTo: undefined,
      onInvalid: undefined,
    });
  });

  it('lower-cases header names and drops aliases equal to the header', () => {
    configure({ header: 'X-Fork', aliases: ['X-FORK', 'X-Alt', 'x-alt'] });
    expect(forkConfig().header).toBe('x-fork');
    expect(forkConfig().aliases).toEqual(['x-alt']);
  });

  it('replaces the whole configuration on every call', () => {
    configure({ header: 'x-a', maxLength: 5 });
    configure({ aliases: ['x-b'] });
    expect(forkConfig()).toMatchObject({
      header: 'x-fork-identifier',
      maxLength: 63,
      aliases: ['x-b'],
    });
  });

  it('freezes the configuration it returns', () => {
    configure({ aliases: ['x-b'] });
    expect(Object.isFrozen(forkConfig())).toBe(true);
    expect(Object.isFrozen(forkConfig().aliases)).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['options', 'x-fork', /option "options" must be an object; received "x-fork"/],
    ['options', [], /option "options" must be an object/],
    ['header', '', /option "header" must be an HTTP header name .*received ""/],
    ['header', 'x fork', /option "header" .*received "x fork"/],
    ['header', 'x-fork\r\n', /option "header"/],
    ['header', 42, /option "header" .*received 42/],
    ['header', 'Baggage', /option "header" must be a header other than "baggage"/],
    ['aliases', 'x-alt', /option "aliases" must be an array of header names; received "x-alt"/],
    ['aliases', ['ok', 'bad name'], /option "aliases" .*received "bad name"/],
    ['baggageKey', '', /option "baggageKey" .*received ""/],
    ['baggageKey', 'a=b', /option "baggageKey" .*received "a=b"/],
    ['pattern', '^a$', /option "pattern" must be a RegExp; received "\^a\$"/],
    [
      'pattern',
      /^a$/g,
      /option "pattern" must be a RegExp without the g or y flag; received \/\^a\$\/g/,
    ],
    ['pattern', /^a$/y, /without the g or y flag/],
    ['maxLength', 0, /option "maxLength" must be an integer from 1 to 1024; received 0/],
    ['maxLength', 2.5, /option "maxLength" .*received 2.5/],
    ['maxLength', 5000, /option "maxLength" .*received 5000/],
    ['maxLength', '63', /option "maxLength" .*received "63"/],
    ['propagateTo', true, /option "propagateTo" must be a function .*received true/],
    ['onInvalid', 'log', /option "onInvalid" must be a function .*received "log"/],
    ['headr', 'x-fork', /option "headr" must be one of: header, aliases/],
  ])('rejects %s = %j with a TypeError naming both', (option, value, message) => {
    const error = thrown(option === 'options' ? value : { [option]: value });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe(ERR_INVALID_OPTION);
    expect(error.message).toMatch(message);
  });

  it('keeps the previous configuration when the new one is invalid', () => {
    configure({ header: 'x-keep' });
    expect(() => configure({ header: 'x-new', maxLength: -1 })).toThrow(TypeError);
    expect(forkConfig().header).toBe('x-keep');
    expect(extractForkId({ 'x-keep': 'alice' })).toBe('alice');
  });

  it('accepts baggageKey null', () => {
    configure({ baggageKey: null });
    expect(forkConfig().baggageKey).toBeNull();
  });
});

import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import { describe, expect, it } from 'vitest';
import { forkServerInterceptor, withForkHandlers } from '../src/index.js';
import { observingService } from './support.js';

const FACTORIES = [
  {
    name: 'forkServerInterceptor',
    make: (options: unknown) => forkServerInterceptor(options as never),
  },
  {
    name: 'withForkHandlers',
    make: (options: unknown) => withForkHandlers(observingService, options as never),
  },
];

describe.each(FACTORIES)('$name options', ({ make }) => {
  it('accepts no options and a trust function', () => {
    expect(() => make(undefined)).not.toThrow();
    expect(() => make({ trust: () => true })).not.toThrow();
  });

  it('throws a TypeError naming trust when it is not a function', () => {
    expect(() => make({ trust: true })).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: ERR_INVALID_OPTION,
        message:
          'kubefork: option "trust" must be a function (metadata, path) => boolean; received true',
      }),
    );
  });

  it('throws a TypeError naming an unknown option', () => {
    expect(() => make({ trusted: () => true })).toThrow(
      expect.objectContaining({
        code: ERR_INVALID_OPTION,
        message: expect.stringContaining('"trusted"'),
      }),
    );
  });

  it('throws a TypeError when the options are not an object', () => {
    expect(() => make('trust')).toThrow(
      expect.objectContaining({
        code: ERR_INVALID_OPTION,
        message: expect.stringContaining('"options"'),
      }),
    );
  });
});

import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import { describe, expect, it } from 'vitest';
import { forkClientInterceptor, forkServerInterceptor, withForkHandlers } from '../src/index.js';
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

describe('forkClientInterceptor options', () => {
  const make = (options: unknown) => forkClientInterceptor(options as never);

  it('accepts no options and host:port targets', () => {
    for (const target of [
      undefined,
      'orders:50051',
      'orders',
      '127.0.0.1:50051',
      '[::1]:50051',
      'dns:///orders:50051',
      'dns://8.8.8.8/orders:50051',
    ]) {
      expect(() => make({ target }), String(target)).not.toThrow();
    }
    expect(() => make(undefined)).not.toThrow();
  });

  it.each([
    42,
    '',
    'unix:/run/orders.sock',
    'orders:50051/path',
    'or ders:1',
    'ipv4:10.0.0.1:50051',
    'xds:///orders',
  ])('throws a TypeError naming target for %j', (target) => {
    expect(() => make({ target })).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: ERR_INVALID_OPTION,
        message: expect.stringMatching(/^kubefork: option "target" must be a channel target/),
      }),
    );
  });

  it('throws a TypeError naming an unknown option', () => {
    expect(() => make({ trust: () => true })).toThrow(
      expect.objectContaining({
        code: ERR_INVALID_OPTION,
        message: expect.stringContaining('"trust"'),
      }),
    );
  });
});

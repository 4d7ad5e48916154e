// User callbacks that should answer synchronously but are declared `async`: their promise must
// fail closed and a rejection must never reach `unhandledRejection` (which ends a Node process).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configure, extractForkId, forkHeaders, runWithForkId } from '../src/index.js';
import { isTrusted } from '../src/integration.js';

let unhandled: unknown[] = [];
const record = (reason: unknown) => void unhandled.push(reason);

beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', record);
});

afterEach(() => {
  process.off('unhandledRejection', record);
  configure();
});

/** Long enough for Node to report a rejection nobody handled (it does so after microtasks). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('async user callbacks', () => {
  it('a rejecting async trust fails closed without an unhandled rejection', async () => {
    expect(
      isTrusted(async () => {
        throw new Error('policy service down');
      }),
    ).toBe(false);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('an async propagateTo fails closed, whatever it resolves to, and its rejection is handled', async () => {
    configure({ propagateTo: (async () => true) as never });
    expect(runWithForkId('alice', () => forkHeaders('http://orders/'))).toEqual({});
    configure({
      propagateTo: (async () => {
        throw new Error('allow-list unavailable');
      }) as never,
    });
    expect(runWithForkId('alice', () => forkHeaders('http://orders/'))).toEqual({});
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('an async onInvalid that rejects is still called and never crashes the process', async () => {
    const seen: string[] = [];
    configure({
      onInvalid: async (value) => {
        seen.push(value);
        throw new Error('logger down');
      },
    });
    expect(extractForkId({ 'x-fork-identifier': 'bad value' })).toBeUndefined();
    expect(seen).toEqual(['bad value']);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

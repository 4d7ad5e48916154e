// runInMessageFork on message objects shaped as Kafka clients deliver them; no broker needed.
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import { afterEach, describe, expect, it } from 'vitest';
import { runInMessageFork } from '../src/index.js';

const H = 'x-fork-identifier';
const forkOf = (headers: unknown, options?: Parameters<typeof runInMessageFork>[2]) =>
  runInMessageFork({ headers }, () => getForkId(), options);

afterEach(() => configure());

describe('runInMessageFork', () => {
  it('reads the header as a Buffer, a string or an array of equal values', () => {
    expect(forkOf({ [H]: Buffer.from('alice') })).toBe('alice');
    expect(forkOf({ [H]: 'alice' })).toBe('alice');
    expect(forkOf({ [H]: [Buffer.from('alice'), 'alice'] })).toBe('alice');
    expect(forkOf({ [H]: new Uint8Array(Buffer.from('alice')) })).toBe('alice');
  });

  it('reads headers held in a Map, as @platformatic/kafka delivers them', () => {
    expect(forkOf(new Map([[H, Buffer.from('alice')]]))).toBe('alice');
  });

  it('reads aliases like the header and prefers both to the baggage member', () => {
    configure({ aliases: ['x-fork-identifer'] });
    expect(forkOf({ baggage: `${H}=carol`, [H]: 'alice' })).toBe('alice');
    expect(forkOf({ 'x-fork-identifer': 'alice', [H]: 'alice' })).toBe('alice');
    // The header and an alias with different values are ambiguous, as in HTTP.
    expect(forkOf({ 'x-fork-identifer': 'bob', [H]: 'alice' })).toBeUndefined();
    expect(forkOf({ baggage: `${H}=carol`, 'x-fork-identifer': 'bob' })).toBe('bob');
    expect(forkOf({ baggage: Buffer.from(`a=1,${H}=carol`) })).toBe('carol');
  });

  it('reads the configured header name, in any case', () => {
    configure({ header: 'x-tenant' });
    expect(forkOf({ 'X-Tenant': 'alice' })).toBe('alice');
    expect(forkOf({ [H]: 'alice' })).toBeUndefined();
  });

  it('runs baseline, hiding an outer fork, and tells onInvalid about invalid or ambiguous values', () => {
    const reasons: InvalidReason[] = [];
    configure({ onInvalid: (_value, reason) => reasons.push(reason) });
    runWithForkId('outer', () => {
      expect(forkOf({ [H]: Buffer.from('../etc') })).toBeUndefined();
      expect(forkOf({ [H]: ['alice', 'bob'] })).toBeUndefined();
      expect(forkOf({ [H]: 'alice', 'X-FORK-IDENTIFIER': 'bob' })).toBeUndefined();
      expect(forkOf({ [H]: Buffer.from([0xe9]) })).toBeUndefined();
      expect(forkOf({})).toBeUndefined();
      expect(forkOf(undefined)).toBeUndefined();
    });
    expect(reasons).toEqual(['pattern', 'ambiguous', 'ambiguous', 'characters']);
  });

  it('survives hostile carriers: throwing getters, proxies, odd value types', () => {
    const throwing = Object.defineProperty({}, H, {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('boom');
        },
      },
    );
    const message = Object.defineProperty({}, 'headers', {
      get() {
        throw new Error('boom');
      },
    });
    expect(forkOf(throwing)).toBeUndefined();
    expect(forkOf(proxy)).toBeUndefined();
    expect(forkOf({ [H]: 42 })).toBeUndefined();
    expect(forkOf({ [H]: { toString: () => 'alice' } })).toBeUndefined();
    expect(runInMessageFork(message, () => getForkId())).toBeUndefined();
    expect(runInMessageFork(null as never, () => getForkId())).toBeUndefined();
  });

  it('applies trust: only a synchronous true accepts the fork', () => {
    const headers = { [H]: 'alice' };
    expect(forkOf(headers, { trust: () => true })).toBe('alice');
    expect(forkOf(headers, { trust: () => false })).toBeUndefined();
    expect(forkOf(headers, { trust: (() => Promise.resolve(true)) as never })).toBeUndefined();
    expect(
      forkOf(headers, {
        trust: () => {
          throw new Error('boom');
        },
      }),
    ).toBeUndefined();
  });

  it('returns what fn returns and lets its errors through', async () => {
    expect(await runInMessageFork({ headers: { [H]: 'alice' } }, async () => getForkId())).toBe(
      'alice',
    );
    expect(() =>
      runInMessageFork({}, () => {
        throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
  });

  it('rejects options it does not know, naming them', () => {
    expect(() => forkOf({}, { trsut: () => true } as never)).toThrow(/trsut/);
    expect(() => forkOf({}, { trust: 'yes' } as never)).toThrow(TypeError);
  });
});

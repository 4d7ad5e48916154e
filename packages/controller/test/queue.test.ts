import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../src/runtime/queue.js';
import { RateLimiter } from '../src/runtime/rate-limiter.js';

describe('WorkQueue', () => {
  it('hands out a key added several times once', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.depth).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.depth).toBe(0);
  });

  it('never hands the same key to two workers at once', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const first = await queue.get();
    queue.add('a');
    expect(queue.depth).toBe(0);
    const second = queue.get();
    let handedOut = false;
    void second.then(() => {
      handedOut = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedOut).toBe(false);
    queue.done(first!);
    expect(await second).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add('a');
    expect(await next).toBe('a');
  });

  it('adds a key after a delay, the earlier of two delays winning', async () => {
    const queue = new WorkQueue();
    queue.addAfter('a', 10_000);
    queue.addAfter('a', 20);
    expect(queue.delayed).toBe(1);
    const started = performance.now();
    expect(await queue.get()).toBe('a');
    expect(performance.now() - started).toBeGreaterThanOrEqual(18);
    expect(queue.delayed).toBe(0);
  });

  it('resolves waiting workers with undefined and drops delayed keys on shutdown', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.addAfter('a', 10_000);
    queue.shutDown();
    expect(await next).toBeUndefined();
    expect(queue.delayed).toBe(0);
    queue.add('b');
    expect(await queue.get()).toBeUndefined();
  });

  it('doubles the retry delay of a failing key and resets it once forgotten', () => {
    const queue = new WorkQueue({ baseDelayMs: 5, burst: 1000 });
    const delays = [1, 2, 3, 4].map(() => queue.addRateLimited('a'));
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(queue.failures('a')).toBe(4);
    queue.forget('a');
    expect(queue.addRateLimited('a')).toBe(5);
    queue.shutDown();
  });
});

describe('RateLimiter', () => {
  it('caps the per-key delay at maxDelayMs (default 1,000 s)', () => {
    const limiter = new RateLimiter({ burst: 1000 });
    let delay = 0;
    for (let i = 0; i < 40; i += 1) delay = limiter.when('a');
    expect(delay).toBe(1_000_000);
  });

  it('keeps separate backoffs per key', () => {
    const limiter = new RateLimiter({ burst: 1000 });
    limiter.when('a');
    limiter.when('a');
    expect(limiter.when('b')).toBe(5);
    expect(limiter.when('a')).toBe(20);
  });

  it('limits retries of all keys together to qps once the burst is spent', () => {
    let now = 0;
    const limiter = new RateLimiter({ qps: 10, burst: 3, now: () => now });
    const delays = ['a', 'b', 'c', 'd', 'e'].map((key) => limiter.when(key));
    expect(delays).toEqual([5, 5, 5, 100, 200]);
    now = 1000; // ten tokens refilled, capped at the burst of 3
    expect(['f', 'g', 'h', 'i'].map((key) => limiter.when(key))).toEqual([5, 5, 5, 100]);
  });
});

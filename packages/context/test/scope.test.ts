import { AsyncResource } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { configure, getForkId, runWithForkId } from '../src/index.js';
import { ERR_INVALID_FORK_ID } from '../src/integration.js';

afterEach(() => configure());

describe('runWithForkId and getForkId', () => {
  it('returns undefined outside any fork', () => {
    expect(getForkId()).toBeUndefined();
  });

  it('returns the fork inside the scope and returns what fn returns', () => {
    const result = runWithForkId('alice', () => getForkId());
    expect(result).toBe('alice');
    expect(getForkId()).toBeUndefined();
  });

  it('nests: the inner scope wins and the outer one is restored', () => {
    runWithForkId('outer', () => {
      expect(runWithForkId('inner', () => getForkId())).toBe('inner');
      expect(runWithForkId(undefined, () => getForkId())).toBeUndefined();
      expect(getForkId()).toBe('outer');
    });
  });

  it('keeps the fork across await, timers, setImmediate and queueMicrotask', async () => {
    const seen = await runWithForkId('alice', async () => {
      const out: Array<string | undefined> = [];
      await sleep(1);
      out.push(getForkId());
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          out.push(getForkId());
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          out.push(getForkId());
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        queueMicrotask(() => {
          out.push(getForkId());
          resolve();
        }),
      );
      await new Promise<void>((resolve) =>
        process.nextTick(() => {
          out.push(getForkId());
          resolve();
        }),
      );
      return out;
    });
    expect(seen).toEqual(['alice', 'alice', 'alice', 'alice', 'alice']);
  });

  it('interleaves two scopes across awaits without cross-talk', async () => {
    const log: string[] = [];
    const task = (id: string, delays: number[]) =>
      runWithForkId(id, async () => {
        for (const delay of delays) {
          await sleep(delay);
          log.push(`${id}:${getForkId()}`);
        }
      });
    await Promise.all([task('a', [5, 1, 5]), task('b', [1, 5, 1])]);
    expect(log.sort()).toEqual(['a:a', 'a:a', 'a:a', 'b:b', 'b:b', 'b:b']);
  });

  it('gives EventEmitter listeners the fork of the emitter, and the registrar’s when bound', () => {
    const emitter = new EventEmitter();
    const seen: Array<string | undefined> = [];
    runWithForkId('registrar', () => {
      emitter.on('plain', () => seen.push(getForkId()));
      emitter.on(
        'bound',
        AsyncResource.bind(() => seen.push(getForkId())),
      );
    });
    runWithForkId('emitter', () => {
      emitter.emit('plain');
      emitter.emit('bound');
    });
    expect(seen).toEqual(['emitter', 'registrar']);
  });

  it('fans out 1,000 tasks with distinct forks with zero cross-talk', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `fork-${i}`);
    const results = await Promise.all(
      ids.map((id, i) =>
        runWithForkId(id, async () => {
          const seen: Array<string | undefined> = [getForkId()];
          await sleep(i % 7);
          seen.push(getForkId());
          await new Promise<void>((resolve) => setImmediate(resolve));
          seen.push(getForkId());
          return seen;
        }),
      ),
    );
    const mismatches = results.flatMap((seen, i) => seen.filter((value) => value !== ids[i]));
    expect(mismatches).toEqual([]);
    expect(results).toHaveLength(1000);
  });

  it('explicitly clears an outer fork with undefined', async () => {
    await runWithForkId('alice', async () => {
      await runWithForkId(undefined, async () => {
        await sleep(1);
        expect(getForkId()).toBeUndefined();
      });
      expect(getForkId()).toBe('alice');
    });
  });

  it('does not leak out of a scope that threw', () => {
    expect(() =>
      runWithForkId('alice', () => {
        throw new Error('handler failed');
      }),
    ).toThrow('handler failed');
    expect(getForkId()).toBeUndefined();
  });

  it.each([['bad value'], [''], ['a'.repeat(64)], ['ali\r\nce'], [42], [null]])(
    'throws a TypeError naming the invalid id %j',
    (id) => {
      let error: (TypeError & { code?: string }) | undefined;
      try {
        runWithForkId(id as string, () => undefined);
      } catch (caught) {
        error = caught as TypeError & { code?: string };
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(error?.code).toBe(ERR_INVALID_FORK_ID);
      expect(error?.message).toContain('invalid fork id');
      expect(error?.message).toContain(
        typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : String(id),
      );
    },
  );

  it('throws invalidOption when fn is not a function', () => {
    expect(() => runWithForkId('alice', 'nope' as never)).toThrow(
      'kubefork: option "fn" must be a function; received "nope"',
    );
    expect(() => runWithForkId(undefined, 42 as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_KUBEFORK_INVALID_OPTION' }),
    );
  });

  it('validates ids against the configured pattern', () => {
    configure({ pattern: /^dev-[a-z]+$/ });
    expect(runWithForkId('dev-alice', () => getForkId())).toBe('dev-alice');
    expect(() => runWithForkId('alice', () => undefined)).toThrow(TypeError);
  });
});

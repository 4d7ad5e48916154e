import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { configure, getForkId, runWithForkId } from '../src/index.js';
import { bindFork, registerForkSource, VERSION } from '../src/integration.js';
import { compatibilityLine } from '../src/store.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('VERSION', () => {
  it("equals package.json's version", () => {
    const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(VERSION).toBe(manifest.version);
  });

  it('keys the shared state by major, and by minor during 0.x', () => {
    expect(compatibilityLine('0.1.0')).toBe('0.1');
    expect(compatibilityLine('0.1.7')).toBe('0.1');
    expect(compatibilityLine('0.2.0')).toBe('0.2');
    expect(compatibilityLine('1.0.0')).toBe('1');
    expect(compatibilityLine('1.4.2-beta.1')).toBe('1');
  });
});

describe('registerForkSource', () => {
  const removers: Array<() => void> = [];
  afterEach(() => {
    for (const remove of removers.splice(0)) remove();
    configure();
  });

  it('is asked outside a kubefork scope, in registration order, valid ids only', () => {
    const asked: string[] = [];
    removers.push(
      registerForkSource(() => {
        asked.push('first');
        return 'not valid!';
      }),
      registerForkSource(() => {
        asked.push('second');
        throw new Error('broken source');
      }),
      registerForkSource(() => {
        asked.push('third');
        return 'alice';
      }),
      registerForkSource(() => {
        asked.push('fourth');
        return 'bob';
      }),
    );
    expect(getForkId()).toBe('alice');
    expect(asked).toEqual(['first', 'second', 'third']);
  });

  it('comes after our store, and an explicit baseline scope hides it', () => {
    removers.push(registerForkSource(() => 'alice'));
    expect(runWithForkId('bob', () => getForkId())).toBe('bob');
    expect(runWithForkId(undefined, () => getForkId())).toBeUndefined();
    expect(getForkId()).toBe('alice');
  });

  it('returns a remover that works once', () => {
    const remove = registerForkSource(() => 'alice');
    const other = registerForkSource(() => 'bob');
    removers.push(other);
    expect(getForkId()).toBe('alice');
    remove();
    remove();
    expect(getForkId()).toBe('bob');
  });

  it('throws invalidOption for a lookup that is not a function', () => {
    expect(() => registerForkSource('alice' as never)).toThrow(
      'kubefork: option "lookup" must be a function () => string | undefined; received "alice"',
    );
  });
});

describe('bindFork', () => {
  const other = new AsyncLocalStorage<string>();

  it('runs a function later in the fork and the other async-local stores of the bind', async () => {
    let bound: (() => string) | undefined;
    other.run('span-1', () =>
      runWithForkId('alice', () => {
        bound = bindFork(() => `${getForkId()}/${other.getStore()}`);
      }),
    );
    const seen = await runWithForkId('bob', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return bound?.();
    });
    expect(seen).toBe('alice/span-1');
    expect(runWithForkId(undefined, () => bound?.())).toBe('alice/span-1');
  });

  it('passes arguments, this and the return value through', () => {
    const fn = runWithForkId('alice', () =>
      bindFork(function (this: { n: number }, add: number) {
        return `${getForkId()}:${this.n + add}`;
      }),
    );
    expect(fn.call({ n: 1 }, 2)).toBe('alice:3');
  });

  it('makes every later emit of an emitter run in the bind context; binding again moves it', () => {
    const emitter = new EventEmitter();
    const seen: Array<string | undefined> = [];
    emitter.on('data', () => seen.push(`${getForkId()}/${other.getStore()}`));
    expect(other.run('span-1', () => runWithForkId('alice', () => bindFork(emitter)))).toBe(
      emitter,
    );
    runWithForkId('bob', () => emitter.emit('data'));
    emitter.emit('data');
    runWithForkId('carol', () => bindFork(emitter));
    emitter.emit('data');
    expect(seen).toEqual(['alice/span-1', 'alice/span-1', 'carol/undefined']);
  });

  it('throws invalidOption for anything else', () => {
    expect(() => bindFork({} as never)).toThrow(
      /option "target" must be a function or an EventEmitter/,
    );
  });
});

describe('the built kernel', () => {
  it('imports only node: builtins and its own files', () => {
    const dist = join(packageDir, 'dist');
    const entries = ['index.js', 'integration.js'];
    const seen = new Set<string>();
    const foreign: string[] = [];
    const queue = entries.map((entry) => join(dist, entry));
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(file, 'utf8'); // throws when dist is missing: build first
      const pattern =
        /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/g;
      for (const match of source.matchAll(pattern)) {
        const specifier = (match[1] ?? match[2]) as string;
        if (specifier.startsWith('node:')) continue;
        if (specifier.startsWith('./') || specifier.startsWith('../')) {
          const target = resolve(dirname(file), specifier);
          if (!target.startsWith(dist)) foreign.push(`${file}: ${specifier}`);
          else queue.push(target);
        } else {
          foreign.push(`${file}: ${specifier}`);
        }
      }
    }
    expect(foreign).toEqual([]);
    // The walk reached every module of the kernel: none is left out of the check.
    const built = readdirSync(dist).filter((name) => name.endsWith('.js'));
    expect([...seen].map((file) => file.slice(dist.length + 1)).sort()).toEqual(built.sort());
    expect(built.length).toBeGreaterThan(5);
  });
});

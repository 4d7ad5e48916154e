import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const copies = join(packageDir, '.copies');

type ContextModule = typeof import('../src/index.js') & typeof import('../src/integration.js');

/**
 * A second, independent copy of the package's source: what a duplicated dependency looks like;
 * `version` rewrites its version.ts, as another installed version of the package would have.
 */
async function loadCopy(name: string, version?: string): Promise<ContextModule> {
  const dir = join(copies, name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(packageDir, 'src'), dir, { recursive: true });
  if (version !== undefined) {
    writeFileSync(join(dir, 'version.ts'), `export const VERSION = '${version}';\n`);
  }
  const main = await import(pathToFileURL(join(dir, 'index.ts')).href);
  const integration = await import(pathToFileURL(join(dir, 'integration.ts')).href);
  return { ...main, ...integration } as ContextModule;
}

/** The process warnings emitted while `fn` runs. */
async function warningsDuring(fn: () => Promise<unknown>): Promise<Error[]> {
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on('warning', listener);
  try {
    await fn();
    // 'warning' events are emitted on the next tick.
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    process.off('warning', listener);
  }
  return warnings.filter((warning) => warning.name === 'KubeforkWarning');
}

afterAll(() => rmSync(copies, { recursive: true, force: true }));

describe('two copies of @kubefork/context in one process', () => {
  it('share one store and one configuration', async () => {
    const a = await loadCopy('a');
    const b = await loadCopy('b');
    expect(a).not.toBe(b);
    expect(a.runWithForkId).not.toBe(b.runWithForkId);

    const seen = await a.runWithForkId('alice', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return b.getForkId();
    });
    expect(seen).toBe('alice');

    b.configure({ header: 'x-shared' });
    expect(a.extractForkId({ 'x-shared': 'bob' })).toBe('bob');
    expect(a.runWithForkId('bob', () => b.forkHeaders())).toHaveProperty('x-shared', 'bob');
    a.configure();
    expect(b.extractForkId({ 'x-fork-identifier': 'carol', 'x-shared': 'bob' })).toBe('carol');
  });

  it('share installShared installations', async () => {
    const a = await loadCopy('a');
    const b = await loadCopy('b');
    const key = Symbol.for('kubefork.test.shared-installation');
    let installs = 0;
    const install = () => {
      installs++;
      return () => {};
    };
    const first = a.installShared(key, install);
    const second = b.installShared(key, install);
    expect(installs).toBe(1);
    first();
    second();
    a.installShared(key, install)();
    expect(installs).toBe(2);
  });

  it('of the same 0.x minor share state without a warning', async () => {
    const warnings = await warningsDuring(async () => {
      const a = await loadCopy('patch', '0.1.99');
      expect(await a.runWithForkId('alice', async () => (await loadCopy('b')).getForkId())).toBe(
        'alice',
      );
    });
    expect(warnings).toEqual([]);
  });

  it('of different versions keep apart and warn once, naming both versions', async () => {
    const current = await loadCopy('b');
    let other: ContextModule | undefined;
    const warnings = await warningsDuring(async () => {
      other = await loadCopy('major', '9.0.0');
      await loadCopy('major-again', '9.0.1');
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'KUBEFORK_VERSION_CONFLICT' });
    expect(warnings[0]?.message).toContain('9.0.0');
    expect(warnings[0]?.message).toContain(current.VERSION);
    if (other === undefined) throw new Error('the other copy did not load');
    const otherCopy = other;
    // Apart: a fork entered through one is not seen by the other, and options stay separate.
    expect(current.runWithForkId('alice', () => otherCopy.getForkId())).toBeUndefined();
    expect(otherCopy.runWithForkId('bob', () => current.getForkId())).toBeUndefined();
    otherCopy.configure({ header: 'x-other' });
    expect(current.extractForkId({ 'x-other': 'bob' })).toBeUndefined();
    otherCopy.configure();
    // Loading more copies of either line warns no more.
    expect(await warningsDuring(() => loadCopy('major-third', '9.2.0'))).toEqual([]);
  });
});

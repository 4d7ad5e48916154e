import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const copies = join(packageDir, '.copies');

type ContextModule = typeof import('../src/index.js');

/** A second, independent copy of the package's source: what a duplicated dependency looks like. */
async function loadCopy(name: string): Promise<ContextModule> {
  const dir = join(copies, name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(packageDir, 'src'), dir, { recursive: true });
  return (await import(pathToFileURL(join(dir, 'index.ts')).href)) as ContextModule;
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
});

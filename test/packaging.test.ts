import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packagesDir = join(root, 'packages');

interface Manifest {
  name: string;
  private?: boolean;
  type?: string;
  sideEffects?: boolean | string[];
  engines?: { node?: string };
  exports?: Record<string, unknown>;
}

const packages = readdirSync(packagesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => {
    const dir = join(packagesDir, entry.name);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    return { dir, manifest };
  });

/** Runs a snippet with the same Node as the tests, from inside the package (self-reference). */
function exportsSeenBy(kind: 'commonjs' | 'module', dir: string, name: string): string[] {
  const code =
    kind === 'commonjs'
      ? // require(esm) adds `default` and `__esModule: true` for a module with a default export.
        `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(name)})).filter((k) => k !== 'default' && k !== '__esModule').sort()))`
      : `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default' && k !== 'module.exports').sort()))`;
  const out = execFileSync(process.execPath, ['--input-type', kind, '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as string[];
}

describe.each(packages)('$manifest.name', ({ dir, manifest }) => {
  it('follows the manifest pattern (ESM, exports with types + default, engines, sideEffects)', () => {
    expect(manifest.type).toBe('module');
    expect(manifest.engines?.node).toBe('>=20.19');
    expect(manifest.sideEffects).toBeDefined();
    const main = manifest.exports?.['.'] as { types?: string; default?: string } | undefined;
    expect(main?.types).toMatch(/^\.\/dist\/.*\.d\.ts$/);
    expect(main?.default).toMatch(/^\.\/dist\/.*\.js$/);
  });

  it('can be imported and required (require of ESM, Node 20.19+) with the same exports', () => {
    const imported = exportsSeenBy('module', dir, manifest.name);
    const required = exportsSeenBy('commonjs', dir, manifest.name);
    expect(required).toEqual(imported);
    if (manifest.sideEffects === false) expect(imported.length).toBeGreaterThan(0);
  });
});

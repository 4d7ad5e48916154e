import { hasSubscribers } from 'node:diagnostics_channel';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runWithForkId } from '@kubefork/context';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeServers, startDownstream, valuesOf } from '../../../test/support/loopback.js';
import * as ours from '../src/index.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const copies = join(packageDir, '.copies');

/** A second, independent copy of the package's source: what a duplicated dependency looks like. */
async function loadCopy(): Promise<typeof ours> {
  const dir = join(copies, 'fetch');
  mkdirSync(dir, { recursive: true });
  cpSync(join(packageDir, 'src'), dir, { recursive: true });
  return (await import(pathToFileURL(join(dir, 'index.ts')).href)) as typeof ours;
}

afterEach(closeServers);
afterAll(() => rmSync(copies, { recursive: true, force: true }));

describe('two copies of @kubefork/fetch in one process', () => {
  it('share one installation, removed when the last user uninstalls', async () => {
    const copy = await loadCopy();
    expect(copy.instrumentFetch).not.toBe(ours.instrumentFetch);
    const downstream = await startDownstream();
    const send = () =>
      runWithForkId('alice', async () => (await undiciFetch(downstream.origin)).text());

    const uninstallOurs = ours.instrumentFetch();
    const uninstallCopy = copy.instrumentFetch();
    uninstallOurs();
    await send(); // the copy's user keeps it installed
    uninstallCopy();
    await send();

    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      [],
    ]);
    expect(hasSubscribers('undici:request:create')).toBe(false);
    expect(hasSubscribers('undici:client:connected')).toBe(false);
  });
});

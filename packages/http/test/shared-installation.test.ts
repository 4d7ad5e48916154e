import { hasSubscribers } from 'node:diagnostics_channel';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runWithForkId } from '@kubefork/context';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeServers, startDownstream, valuesOf } from '../../../test/support/loopback.js';
import * as ours from '../src/index.js';
import { closeH2, connectH2, requestH2, startH2Downstream } from './h2-support.js';
import { finish } from './support.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const copies = join(packageDir, '.copies');
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof Http;

/** A second, independent copy of the package's source: what a duplicated dependency looks like. */
async function loadCopy(): Promise<typeof ours> {
  const dir = join(copies, 'http');
  mkdirSync(dir, { recursive: true });
  cpSync(join(packageDir, 'src'), dir, { recursive: true });
  return (await import(pathToFileURL(join(dir, 'index.ts')).href)) as typeof ours;
}

afterEach(async () => {
  await closeServers();
  await closeH2();
});
afterAll(() => rmSync(copies, { recursive: true, force: true }));

describe('two copies of @kubefork/http in one process', () => {
  it('share one installation, removed when the last user uninstalls', async () => {
    const copy = await loadCopy();
    expect(copy.instrumentHttp).not.toBe(ours.instrumentHttp);
    const before = http.request;
    const downstream = await startDownstream();
    const send = () => runWithForkId('alice', () => finish(http.get(downstream.origin)));

    const uninstallOurs = ours.instrumentHttp();
    const afterOurs = http.request;
    const uninstallCopy = copy.instrumentHttp();
    expect(http.request).toBe(afterOurs); // nothing installed twice
    uninstallOurs();
    await send(); // the copy's user keeps it installed
    uninstallCopy();
    await send();

    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      [],
    ]);
    expect(http.request).toBe(before);
    expect(hasSubscribers('http.client.request.created')).toBe(false);
  });

  it('patch ClientHttp2Session.prototype.request once between them', async () => {
    const copy = await loadCopy();
    const downstream = await startH2Downstream();
    const session = connectH2(downstream.origin);
    const prototype = Object.getPrototypeOf(session) as { request: unknown };
    const before = prototype.request;

    const uninstallOurs = ours.instrumentHttp();
    const afterOurs = prototype.request;
    const uninstallCopy = copy.instrumentHttp();
    expect(prototype.request).toBe(afterOurs);
    uninstallOurs();
    await runWithForkId('alice', () => requestH2(session));
    uninstallCopy();
    await runWithForkId('alice', () => requestH2(session));

    expect(downstream.received.map((r) => valuesOf(r.rawHeaders, 'x-fork-identifier'))).toEqual([
      ['alice'],
      [],
    ]);
    expect(prototype.request).toBe(before);
  });
});

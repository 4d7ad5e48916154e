import { once } from 'node:events';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { runFixture } from './support.js';

// Loading @kubefork/auto instruments the whole process for good, so every case runs in a child.

afterEach(closeServers);

/** `path?tag` → the x-fork-identifier values that request carried. */
function forksByCall(downstream: Downstream): Record<string, string[]> {
  return Object.fromEntries(
    downstream.received.map((r) => [r.path.slice(1), valuesOf(r.rawHeaders, 'x-fork-identifier')]),
  );
}

const EXPECTED = {
  'request?fork': ['alice'],
  'get?fork': ['alice'],
  'fetch?fork': ['alice'],
  'request?none': [],
  'get?none': [],
  'fetch?none': [],
};

describe('@kubefork/auto', () => {
  it('instruments an ESM app run with node --import @kubefork/auto, named imports included', async () => {
    const downstream = await startDownstream();
    await runFixture(['--import', '@kubefork/auto'], 'preloaded.mjs', downstream.origin);
    expect(forksByCall(downstream)).toEqual(EXPECTED);
  });

  it('instruments a CommonJS app run with node --require @kubefork/auto', async () => {
    const downstream = await startDownstream();
    await runFixture(['--require', '@kubefork/auto'], 'preloaded.cjs', downstream.origin);
    expect(forksByCall(downstream)).toEqual(EXPECTED);
  });

  it('instruments an app that imports it on its first line', async () => {
    const downstream = await startDownstream();
    await runFixture([], 'first-line.mjs', downstream.origin);
    expect(forksByCall(downstream)).toEqual(EXPECTED);
  });

  it('instruments node:http2 client sessions too', async () => {
    const received: Record<string, string[]> = {};
    const server = createServer();
    server.on('stream', (stream, headers) => {
      const fork = headers['x-fork-identifier'];
      received[String(headers[':path']).slice(1)] = fork === undefined ? [] : [String(fork)];
      stream.respond({ ':status': 200 });
      stream.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      await runFixture(['--import', '@kubefork/auto'], 'http2.mjs', `http://127.0.0.1:${port}`);
    } finally {
      server.close();
    }
    expect(received).toEqual({ 'http2?fork': ['alice'], 'http2?none': [] });
  });

  describe('loaded twice', () => {
    const copies = fileURLToPath(new URL('../.copies', import.meta.url));
    afterAll(() => rmSync(copies, { recursive: true, force: true }));

    it('instruments once: a second copy of the module adds no user', async () => {
      const copy = `${copies}/auto`;
      mkdirSync(copy, { recursive: true });
      cpSync(fileURLToPath(new URL('../dist', import.meta.url)), copy, { recursive: true });
      const out = await runFixture(
        ['--import', '@kubefork/auto'],
        'twice.mjs',
        pathToFileURL(`${copy}/index.js`).href,
      );
      expect(JSON.parse(out)).toEqual({ http: 1, http2: 1, fetch: 1 });
    });
  });
});

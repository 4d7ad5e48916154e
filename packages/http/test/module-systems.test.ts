import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  type Downstream,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { type HttpInstrumentationMode, hasRequestCreatedChannel } from '../src/instrument.js';
import { runFixture } from './support.js';

// Real ESM named imports and CommonJS require need a process of their own (vitest rewrites
// imports), so each case runs a fixture in a child process against a server here.

const modes: HttpInstrumentationMode[] = hasRequestCreatedChannel()
  ? ['channel', 'patch']
  : ['patch'];

afterEach(closeServers);

function forksByPath(downstream: Downstream): Record<string, string[]> {
  return Object.fromEntries(
    downstream.received.map((r) => [r.path, valuesOf(r.rawHeaders, 'x-fork-identifier')]),
  );
}

describe.each(modes)('instrumentHttp, %s mode, in a child process', (mode) => {
  it('reaches ESM named imports of request and get bound before it was installed', async () => {
    const downstream = await startDownstream();
    await runFixture('esm-named.mjs', downstream.origin, mode);
    expect(forksByPath(downstream)).toEqual({ '/request': ['alice'], '/get': ['alice'] });
  });

  it('reaches CommonJS require: the module object and functions destructured after install', async () => {
    const downstream = await startDownstream();
    await runFixture('cjs.cjs', downstream.origin, mode);
    expect(forksByPath(downstream)).toEqual({
      '/module-request': ['alice'],
      '/module-get': ['alice'],
      '/request': ['alice'],
      '/get': ['alice'],
    });
  });
});

import { configure, type InvalidReason } from '@kubefork/context';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  callOfType,
  metadataOf,
  type Observation,
  observingService,
  type ProbeClient,
  probeClient,
  type RunningServer,
  SERVER_SETUPS,
} from './support.js';

describe.each(SERVER_SETUPS)('inbound metadata with $name', (setup) => {
  let server: RunningServer;
  let client: ProbeClient;
  let reports: [string, InvalidReason][];

  beforeEach(async () => {
    reports = [];
    configure({ onInvalid: (value, reason) => reports.push([value, reason]) });
    server = await setup.start(observingService);
    client = probeClient(server.port);
  });

  afterEach(() => {
    configure();
    client.close();
    server.close();
  });

  /** The fork the handler saw at its start (null for none); the call must succeed. */
  async function forkSeen(metadata: ReturnType<typeof metadataOf>): Promise<string | null> {
    const [start] = (await callOfType('unary', client, [{}], metadata)) as Observation[];
    return start!.fork;
  }

  it('ignores an empty value and reports it', async () => {
    expect(await forkSeen(metadataOf(['x-fork-identifier', '']))).toBeNull();
    expect(reports).toEqual([['', 'empty']]);
  });

  it('ignores two different values and reports them as ambiguous', async () => {
    const metadata = metadataOf(['x-fork-identifier', 'alice'], ['x-fork-identifier', 'bob']);
    expect(await forkSeen(metadata)).toBeNull();
    expect(reports).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('counts a key written in other case as the same key, so a second value is ambiguous', async () => {
    const metadata = metadataOf(['x-fork-identifier', 'alice'], ['X-Fork-Identifier', 'bob']);
    expect(await forkSeen(metadata)).toBeNull();
    expect(reports).toEqual([['alice, bob', 'ambiguous']]);
  });

  it('accepts the same value twice', async () => {
    const metadata = metadataOf(['x-fork-identifier', 'alice'], ['X-FORK-IDENTIFIER', 'alice']);
    expect(await forkSeen(metadata)).toBe('alice');
    expect(reports).toEqual([]);
  });

  it('never reads a fork id sent as binary metadata and reports it', async () => {
    const metadata = metadataOf(['x-fork-identifier-bin', Buffer.from('alice')]);
    expect(await forkSeen(metadata)).toBeNull();
    expect(reports).toEqual([[Buffer.from('alice').toString('base64'), 'malformed']]);
  });

  it('ignores a baggage member that cannot be decoded and reports it', async () => {
    expect(await forkSeen(metadataOf(['baggage', 'x-fork-identifier=%E0%A4%A']))).toBeNull();
    expect(reports).toEqual([['x-fork-identifier=%E0%A4%A', 'malformed']]);
  });

  it('reads a configured alias', async () => {
    configure({ aliases: ['x-fork-identifer'] });
    expect(await forkSeen(metadataOf(['x-fork-identifer', 'dave']))).toBe('dave');
  });

  it('serves the call when onInvalid throws', async () => {
    configure({
      onInvalid: () => {
        throw new Error('logger is down');
      },
    });
    expect(await forkSeen(metadataOf(['x-fork-identifier', 'not/valid']))).toBeNull();
    expect(await forkSeen(metadataOf(['x-fork-identifier-bin', Buffer.from('x')]))).toBeNull();
  });
});

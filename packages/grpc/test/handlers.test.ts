import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { getForkId } from '@kubefork/context';
import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import { afterEach, describe, expect, it } from 'vitest';
import { withForkHandlers } from '../src/index.js';
import {
  metadataOf,
  observingService,
  type ProbeClient,
  probeClient,
  type RunningServer,
  startServer,
  unary,
} from './support.js';

describe('withForkHandlers', () => {
  let server: RunningServer | undefined;
  let client: ProbeClient | undefined;

  afterEach(() => {
    client?.close();
    server?.close();
    client = server = undefined;
  });

  async function connect(implementation: UntypedServiceImplementation): Promise<ProbeClient> {
    server = await startServer(implementation);
    client = probeClient(server.port);
    return client;
  }

  it('returns a new implementation and leaves the given one untouched', () => {
    const wrapped = withForkHandlers(observingService);
    expect(wrapped).not.toBe(observingService);
    expect(Object.keys(wrapped)).toEqual(Object.keys(observingService));
    expect(wrapped.unary).not.toBe(observingService.unary);
  });

  it('copies values that are not handlers unchanged', () => {
    const marker = { version: 2 };
    const wrapped = withForkHandlers({ ...observingService, marker } as never) as Record<
      string,
      unknown
    >;
    expect(wrapped.marker).toBe(marker);
  });

  it('wraps the methods of a class instance and calls them with the instance as this', async () => {
    class Probe {
      readonly prefix = 'fork:';
      unary(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void {
        callback(null, `${this.prefix}${getForkId()}`);
      }
    }
    const wrapped = withForkHandlers(new Probe() as unknown as UntypedServiceImplementation);
    const reply = await unary(
      await connect({ ...observingService, unary: wrapped.unary! }),
      {},
      metadataOf(['x-fork-identifier', 'erin']),
    );
    expect(reply).toBe('fork:erin');
  });

  it('passes what a handler throws on to grpc-js, which answers with an error status', async () => {
    const wrapped = withForkHandlers({
      ...observingService,
      unary: () => {
        throw new Error('handler bug');
      },
    });
    await expect(unary(await connect(wrapped), {})).rejects.toMatchObject({ code: 2 });
  });

  it.each([null, 'service', 42])('throws a TypeError for the implementation %j', (value) => {
    expect(() => withForkHandlers(value as never)).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: ERR_INVALID_OPTION,
        message: expect.stringContaining('option "implementation"'),
      }),
    );
  });
});

import { once } from 'node:events';
import * as http from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  listen,
  only,
  startDownstream,
  valuesOf,
} from '../../../test/support/loopback.js';
import { instrumentHttp, withForkContext } from '../src/index.js';
import { finish } from './support.js';

afterEach(async () => {
  configure();
  await closeServers();
});

/** A server whose listener answers with the fork it sees after an asynchronous step. */
async function forkEcho(options?: Parameters<typeof withForkContext>[1]): Promise<number> {
  const server = http.createServer(
    withForkContext(async (_request, response) => {
      await sleep(1);
      response.end(getForkId() ?? 'baseline');
    }, options),
  );
  return listen(server);
}

async function get(port: number, headers: http.OutgoingHttpHeaders = {}): Promise<string> {
  const request = http.get({ host: '127.0.0.1', port, headers });
  const [response] = (await once(request, 'response')) as [http.IncomingMessage];
  let body = '';
  for await (const chunk of response) body += chunk;
  return body;
}

/** Sends `head`, then each of `later` after a pause, on a raw socket; resolves with the reply. */
async function sendInPieces(port: number, head: string, later: string[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let reply = '';
  socket.on('data', (chunk) => {
    reply += chunk;
  });
  socket.write(head);
  for (const piece of later) {
    await sleep(20);
    socket.write(piece);
  }
  await once(socket, 'close');
  return reply;
}

describe('withForkContext', () => {
  it('runs the listener and what it starts in the fork of the inbound header', async () => {
    const port = await forkEcho();
    expect(await get(port, { 'x-fork-identifier': 'alice' })).toBe('alice');
  });

  it('serves an invalid inbound value as baseline, tells onInvalid, and re-emits nothing', async () => {
    const reported: [string, InvalidReason][] = [];
    configure({ onInvalid: (value, reason) => reported.push([value, reason]) });
    const downstream = await startDownstream();
    const uninstall = instrumentHttp();
    try {
      const server = http.createServer(
        withForkContext(async (_request, response) => {
          await finish(http.get(downstream.origin));
          response.end(getForkId() ?? 'baseline');
        }),
      );
      const port = await listen(server);
      expect(await get(port, { 'x-fork-identifier': 'alice/../admin' })).toBe('baseline');
    } finally {
      uninstall();
    }
    expect(reported).toEqual([['alice/../admin', 'pattern']]);
    expect(valuesOf(only(downstream).rawHeaders, 'x-fork-identifier')).toEqual([]);
    expect(valuesOf(only(downstream).rawHeaders, 'baggage')).toEqual([]);
  });

  it('keeps the fork in body listeners of a chunked body sent in pieces', async () => {
    const seen: string[] = [];
    const server = http.createServer(
      withForkContext((request, response) => {
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => seen.push(`${chunk}:${getForkId()}`));
        request.on('end', () => response.end());
      }),
    );
    const port = await listen(server);
    const head =
      'POST / HTTP/1.1\r\nHost: x\r\nx-fork-identifier: alice\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nab\r\n';
    await sendInPieces(port, head, ['2\r\ncd\r\n', '0\r\n\r\n']);
    expect(seen).toEqual(['ab:alice', 'cd:alice']);
  });

  it('keeps body listeners of a baseline request out of a fork the server was started in', async () => {
    const seen: string[] = [];
    const server = http.createServer(
      withForkContext((request, response) => {
        request.on('data', () => {});
        request.on('end', () => {
          seen.push(getForkId() ?? 'baseline');
          response.end();
        });
      }),
    );
    const port = await runWithForkId('stray', () => listen(server));
    const head = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n';
    await sendInPieces(port, head, ['ab']);
    expect(seen).toEqual(['baseline']);
  });

  it('does not carry a fork into the next request on the same keep-alive connection', async () => {
    const port = await forkEcho();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ask = async (headers: http.OutgoingHttpHeaders) => {
      const request = http.get({ host: '127.0.0.1', port, headers, agent });
      const [response] = (await once(request, 'response')) as [http.IncomingMessage];
      let body = '';
      for await (const chunk of response) body += chunk;
      return `${body}@${request.socket?.localPort}`;
    };
    try {
      const first = await ask({ 'x-fork-identifier': 'alice' });
      const second = await ask({});
      expect(first).toMatch(/^alice@/);
      expect(second).toBe(first.replace('alice', 'baseline'));
    } finally {
      agent.destroy();
    }
  });

  it('calls the listener with the server as this, and the request and response', async () => {
    let seen: unknown[] = [];
    const server = http.createServer(
      withForkContext(function (this: unknown, request, response) {
        seen = [this, request instanceof http.IncomingMessage, response.req === request];
        response.end();
      }),
    );
    const port = await listen(server);
    await get(port);
    expect(seen).toEqual([server, true, true]);
  });

  it('rejects a listener that is not a function with a TypeError naming it', () => {
    expect(() => withForkContext('nope' as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: ERR_INVALID_OPTION }),
    );
    expect(() => withForkContext('nope' as never)).toThrow(/"listener".*received "nope"/);
  });

  it('rejects a trust that is not a function with a TypeError naming it', () => {
    expect(() => withForkContext(() => {}, { trust: true as never })).toThrow(
      /option "trust" must be a function.*received true/,
    );
  });

  it('rejects an unknown option, naming it', () => {
    expect(() => withForkContext(() => {}, { trusted: () => true } as never)).toThrow(
      /option "trusted"/,
    );
  });
});

import { once } from 'node:events';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getForkId, type InvalidReason, runWithForkId } from '@kubefork/context';
import { ERR_INVALID_OPTION } from '@kubefork/context/integration';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { valuesOf } from '../../../test/support/loopback.js';
import { createTestCertificate, type TestCertificate } from '../../../test/support/tls-cert.js';
import { instrumentHttp, withForkContext, withForkStream } from '../src/index.js';
import { closeH2, connectH2, listenH2, requestH2, startH2Downstream } from './h2-support.js';

let tls: TestCertificate;
beforeAll(() => {
  tls = createTestCertificate();
});

afterEach(async () => {
  configure();
  await closeH2();
});

/** Sends a POST whose body goes out in `pieces`, each after a pause; resolves with the answer. */
async function postInPieces(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  pieces: string[],
): Promise<string> {
  const stream = session.request({ ':method': 'POST', ...headers });
  for (const piece of pieces) {
    await sleep(20);
    stream.write(piece);
  }
  stream.end();
  stream.setEncoding('utf8');
  let body = '';
  for await (const chunk of stream) body += chunk;
  return body;
}

/** An HTTP/2 compatibility-API server answering the fork it sees after an asynchronous step. */
async function compatEcho(
  options?: Parameters<typeof withForkContext<http2.Http2ServerRequest>>[1],
): Promise<string> {
  const server = http2.createServer(
    withForkContext(async (_request, response) => {
      await sleep(1);
      response.end(getForkId() ?? 'baseline');
    }, options),
  );
  return `http://127.0.0.1:${await listenH2(server)}`;
}

/** An HTTP/2 core-API server answering the fork it sees after an asynchronous step. */
async function streamEcho(options?: Parameters<typeof withForkStream>[1]): Promise<string> {
  const server = http2.createServer();
  server.on(
    'stream',
    withForkStream(async (stream) => {
      await sleep(1);
      stream.respond({ ':status': 200 });
      stream.end(getForkId() ?? 'baseline');
    }, options),
  );
  return `http://127.0.0.1:${await listenH2(server)}`;
}

async function ask(origin: string, headers: http2.OutgoingHttpHeaders = {}): Promise<string> {
  return (await requestH2(connectH2(origin), headers)).body;
}

describe('withForkContext on http2.createServer (compatibility API)', () => {
  it('keeps the fork in listeners on request.stream', async () => {
    const seen: string[] = [];
    const server = http2.createServer(
      withForkContext((request: http2.Http2ServerRequest, response) => {
        request.stream.on('data', () => seen.push(`data:${getForkId()}`));
        request.stream.on('end', () => {
          seen.push(`end:${getForkId()}`);
          response.end();
        });
      }),
    );
    const origin = `http://127.0.0.1:${await listenH2(server)}`;
    await postInPieces(connectH2(origin), { 'x-fork-identifier': 'alice' }, ['ab']);
    expect(seen).toEqual(['data:alice', 'end:alice']);
  });

  it('serves HTTP/2 and HTTP/1.1 clients of one createSecureServer({ allowHTTP1 })', async () => {
    const server = http2.createSecureServer(
      { ...tls, allowHTTP1: true },
      withForkContext<http2.Http2ServerRequest>((request, response) => {
        response.end(`${request.httpVersion}:${getForkId() ?? 'baseline'}`);
      }),
    );
    const origin = `https://127.0.0.1:${await listenH2(server)}`;
    const overH2 = await requestH2(connectH2(origin, { ca: tls.cert }), {
      'x-fork-identifier': 'alice',
    });
    const overH1 = await new Promise<string>((resolve, reject) => {
      https
        .get(`${origin}/`, { ca: tls.cert, headers: { 'x-fork-identifier': 'bob' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    expect([overH2.body, overH1]).toEqual(['2.0:alice', '1.1:bob']);
  });

  it('applies trust to the Http2ServerRequest', async () => {
    const origin = await compatEcho({ trust: (request) => request.headers['x-internal'] === '1' });
    expect(await ask(origin, { 'x-fork-identifier': 'alice' })).toBe('baseline');
    expect(await ask(origin, { 'x-fork-identifier': 'alice', 'x-internal': '1' })).toBe('alice');
  });
});

describe('withForkStream', () => {
  it('runs the stream listener and what it starts in the fork of the inbound header', async () => {
    configure({ aliases: ['x-fork-identifer'] });
    const origin = await streamEcho();
    expect(await ask(origin, { 'x-fork-identifier': 'alice' })).toBe('alice');
    expect(await ask(origin, { 'x-fork-identifer': 'bob' })).toBe('bob');
    expect(await ask(origin, { baggage: 'userId=1,x-fork-identifier=carol' })).toBe('carol');
    expect(await ask(origin)).toBe('baseline');
  });

  it('keeps the fork in the stream’s data, end and close events', async () => {
    const seen: string[] = [];
    let closed: () => void = () => {};
    const closedOnce = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = http2.createServer();
    server.on(
      'stream',
      withForkStream((stream) => {
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => seen.push(`${chunk}:${getForkId()}`));
        stream.on('end', () => {
          seen.push(`end:${getForkId()}`);
          stream.respond({ ':status': 200 });
          stream.end();
        });
        stream.on('close', () => {
          seen.push(`close:${getForkId()}`);
          closed();
        });
      }),
    );
    const origin = `http://127.0.0.1:${await listenH2(server)}`;
    await postInPieces(connectH2(origin), { 'x-fork-identifier': 'alice' }, ['ab', 'cd']);
    await closedOnce;
    expect(seen).toEqual(['ab:alice', 'cd:alice', 'end:alice', 'close:alice']);
  });

  it('keeps a stream without a fork baseline even when the server was started in a fork', async () => {
    const seen: string[] = [];
    const server = http2.createServer();
    server.on(
      'stream',
      withForkStream((stream) => {
        stream.on('data', () => {});
        stream.on('end', () => {
          seen.push(getForkId() ?? 'baseline');
          stream.respond({ ':status': 200 });
          stream.end();
        });
      }),
    );
    const port = await runWithForkId('stray', () => listenH2(server));
    await postInPieces(connectH2(`http://127.0.0.1:${port}`), {}, ['ab']);
    expect(seen).toEqual(['baseline']);
  });

  it('does not carry a fork into the next stream of the same session', async () => {
    const origin = await streamEcho();
    const session = connectH2(origin);
    const first = await requestH2(session, { 'x-fork-identifier': 'alice' });
    const second = await requestH2(session, {});
    expect([first.body, second.body]).toEqual(['alice', 'baseline']);
  });

  it('passes this, the stream, the headers, the flags and the raw headers through', async () => {
    let seen: unknown[] = [];
    const server = http2.createServer();
    server.on(
      'stream',
      withForkStream(function (this: unknown, stream, headers, flags, rawHeaders) {
        seen = [this === server, headers['x-a'], typeof flags, valuesOf(rawHeaders, 'x-a')];
        stream.respond({ ':status': 204 });
        stream.end();
      }),
    );
    const origin = `http://127.0.0.1:${await listenH2(server)}`;
    await requestH2(connectH2(origin), { 'x-a': '1' });
    expect(seen).toEqual([true, '1', 'number', ['1']]);
  });

  it('serves an invalid value as baseline, tells onInvalid, and re-emits nothing', async () => {
    const reported: [string, InvalidReason][] = [];
    configure({ onInvalid: (value, reason) => reported.push([value, reason]) });
    const uninstall = instrumentHttp();
    try {
      const downstream = await startH2Downstream();
      const client = connectH2(downstream.origin);
      const server = http2.createServer();
      server.on(
        'stream',
        withForkStream(async (stream) => {
          await requestH2(client, { ':path': '/next' });
          stream.respond({ ':status': 200 });
          stream.end(getForkId() ?? 'baseline');
        }),
      );
      const origin = `http://127.0.0.1:${await listenH2(server)}`;
      expect(await ask(origin, { 'x-fork-identifier': 'alice/../admin' })).toBe('baseline');
      expect(valuesOf(downstream.received[0]!.rawHeaders, 'x-fork-identifier')).toEqual([]);
      expect(valuesOf(downstream.received[0]!.rawHeaders, 'baggage')).toEqual([]);
    } finally {
      uninstall();
    }
    expect(reported).toEqual([['alice/../admin', 'pattern']]);
  });

  it('throws a TypeError naming the handler or the option on setup mistakes', () => {
    expect(() => withForkStream('nope' as never)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: ERR_INVALID_OPTION }),
    );
    expect(() => withForkStream(() => {}, { trust: 'yes' as never })).toThrow(/trust/);
    expect(() => withForkStream(() => {}, { trsut: () => true } as never)).toThrow(/trsut/);
  });
});

describe('a fork-aware HTTP/2 service calling the next one', () => {
  it('re-emits the inbound fork on its outbound HTTP/2 call, over TLS both ways', async () => {
    const uninstall = instrumentHttp();
    try {
      const downstream = await startH2Downstream(tls);
      const client = connectH2(downstream.origin, { ca: tls.cert });
      const server = http2.createSecureServer(tls);
      server.on(
        'stream',
        withForkStream((stream) => {
          stream.resume();
          stream.on('end', async () => {
            // Called from a body event: only the stream's bound events know the fork here.
            const answer = await requestH2(client, { ':path': '/next' });
            stream.respond({ ':status': 200 });
            stream.end(answer.body);
          });
        }),
      );
      const port = await listenH2(server);
      const session = connectH2(`https://127.0.0.1:${port}`, { ca: tls.cert });
      await postInPieces(session, { 'x-fork-identifier': 'alice' }, ['payload']);
      const sent = downstream.received[0]!.rawHeaders;
      expect([valuesOf(sent, 'x-fork-identifier'), valuesOf(sent, 'baggage')]).toEqual([
        ['alice'],
        ['x-fork-identifier=alice'],
      ]);
    } finally {
      uninstall();
    }
  });

  it('answers 1,000 concurrent streams with distinct forks on one session with zero cross-talk', async () => {
    const uninstall = instrumentHttp();
    try {
      const downstream = await startH2Downstream();
      const client = connectH2(downstream.origin);
      const server = http2.createServer();
      server.on(
        'stream',
        withForkStream((stream, headers) => {
          stream.resume();
          stream.on('end', async () => {
            await sleep(Math.random() * 10);
            await requestH2(client, { ':path': `/next/${headers['x-expect']}` });
            stream.respond({ ':status': 200 });
            stream.end(getForkId() ?? 'baseline');
          });
        }),
      );
      const origin = `http://127.0.0.1:${await listenH2(server)}`;
      const session = connectH2(origin);
      const count = 1_000;
      const forks = Array.from({ length: count }, (_, i) => (i % 5 === 0 ? undefined : `f${i}`));
      const answers = await Promise.all(
        forks.map((fork, i) =>
          runWithForkId(fork, async () => {
            const stream = session.request({
              ':method': 'POST',
              'x-expect': fork ?? 'baseline',
            });
            // The client's own callbacks see the fork of the call that opened the stream.
            const seen: (string | undefined)[] = [];
            stream.on('response', () => seen.push(getForkId()));
            await sleep(i % 7);
            stream.end('x');
            stream.setEncoding('utf8');
            let body = '';
            for await (const chunk of stream) body += chunk;
            seen.push(getForkId());
            return { body, seen };
          }),
        ),
      );
      const mismatched = answers.filter(
        (answer, i) =>
          answer.body !== (forks[i] ?? 'baseline') || answer.seen.some((fork) => fork !== forks[i]),
      );
      expect(mismatched).toEqual([]);
      expect(downstream.received).toHaveLength(count);
      const crossTalk = downstream.received.filter(({ headers, rawHeaders }) => {
        const expected = String(headers[':path']).slice('/next/'.length);
        const header = valuesOf(rawHeaders, 'x-fork-identifier');
        return expected === 'baseline' ? header.length !== 0 : header.join() !== expected;
      });
      expect(crossTalk).toEqual([]);
    } finally {
      uninstall();
    }
  });
});

describe('http2 client streams and once()', () => {
  it('emit their response in the caller’s fork even on a session opened in another fork', async () => {
    const origin = await streamEcho();
    const session = runWithForkId('opener', () => connectH2(origin));
    const seen = await runWithForkId('alice', async () => {
      const stream = session.request({ 'x-fork-identifier': 'alice' });
      await once(stream, 'response');
      const fork = getForkId();
      stream.resume();
      await once(stream, 'end');
      return [fork, getForkId()];
    });
    expect(seen).toEqual(['alice', 'alice']);
  });
});
